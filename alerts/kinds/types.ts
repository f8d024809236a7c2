import type { PlannedNotification } from '../routing.js'

/** Every receiver kind. Each has its renderer here (pure) and its sender in server/alerts/notification/kinds/. */
export const RECEIVER_KINDS = ['webhook', 'alertmanager', 'email', 'pagerduty', 'teams', 'discord', 'telegram'] as const
export type ReceiverKind = (typeof RECEIVER_KINDS)[number]

/** The per-kind settings that are not secret (secrets stay with the delivery worker). */
export interface ReceiverSettings {
  /** webhook: a JSON body template with {{ .Status }}-style placeholders; absent = the `format`'s body. */
  template?: string
  email?: { to: string[]; from: string; host: string; port: number; starttls: boolean; username: string | null }
  telegram?: { chatId: string }
}

/** What a renderer gets: one group of alerts for one receiver. */
export type RenderPlan = Omit<PlannedNotification, 'groupKey' | 'reason'>

export interface RenderContext {
  externalURL: string
  now: number
}

/** Where a notification goes and its exact body (a kind's sender may add its secret on the way). */
export interface RenderedRequest {
  url: string
  body: string
}

export type Renderer = (plan: RenderPlan, context: RenderContext) => RenderedRequest
