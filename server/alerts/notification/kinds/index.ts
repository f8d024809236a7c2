import type { ReceiverKind } from '../../../../alerts/kinds/types.js'
import { alertmanagerKind } from './alertmanager.js'
import { emailKind } from './email.js'
import { httpKind } from './http.js'
import { pagerdutyKind } from './pagerduty.js'
import { telegramKind } from './telegram.js'
import type { ReceiverKindModule } from './types.js'
import { webhookKind } from './webhook.js'

/** Every receiver kind's server half: validation, sending, classification. */
export const receiverKinds: Record<ReceiverKind, ReceiverKindModule> = {
  webhook: webhookKind,
  alertmanager: alertmanagerKind,
  email: emailKind,
  pagerduty: pagerdutyKind,
  teams: httpKind(['email', 'pagerduty', 'telegram', 'template']),
  discord: httpKind(['email', 'pagerduty', 'telegram', 'template']),
  telegram: telegramKind,
}

export type { KindDelivery, ReceiverKindModule, Transports } from './types.js'
