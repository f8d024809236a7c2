import { renderAlertmanager } from './alertmanager.js'
import { renderDiscord } from './discord.js'
import { renderEmail } from './email.js'
import { renderPagerDuty } from './pagerduty.js'
import { renderTeams } from './teams.js'
import { renderTelegram } from './telegram.js'
import type { ReceiverKind, Renderer } from './types.js'
import { renderWebhook } from './webhook.js'

/** The pure half of each receiver kind: the request a planned notification becomes. */
export const renderers: Record<ReceiverKind, Renderer> = {
  webhook: renderWebhook,
  alertmanager: renderAlertmanager,
  email: renderEmail,
  pagerduty: renderPagerDuty,
  teams: renderTeams,
  discord: renderDiscord,
  telegram: renderTelegram,
}

export * from './types.js'
