import type { ReceiverSettings } from '../../../../alerts/kinds/types.js'
import type { ReceiverUpdateInput } from '../../../contract/alerts.js'
import type { DeliveryResult, WebhookSender } from '../delivery.js'
import type { ReceiverRow } from '../receiver-repository.js'
import type { SmtpSender } from '../smtp.js'

/** What a kind makes of a receiver body: where it sends, its settings, its write-only credential. */
export interface KindInput {
  url: string
  settings: ReceiverSettings
  /** undefined keeps the stored one. */
  credential: string | null | undefined
}

/** One attempt of one notification. */
export interface KindDelivery {
  url: string
  body: string
  idempotencyKey: string
  /** The signing secret (X-Signature-256, Standard Webhooks) where the protocol allows headers of ours. */
  secret: string | null
  /** The kind's own secret: SMTP password, routing key, bot token. */
  credential: string | null
  receiver: ReceiverRow
  now: number
}

export interface Transports {
  http: WebhookSender
  smtp: SmtpSender
}

/**
 * A receiver kind, as Alertmanager's notify/<integration>: validates its settings (throws a
 * 400), sends one rendered notification and classifies the answer as delivered, retry or
 * failed (never throws). Its renderer is pure, in alerts/kinds/.
 */
export interface ReceiverKindModule {
  validate(body: ReceiverUpdateInput, stored: ReceiverRow | null): KindInput
  send(delivery: KindDelivery, transports: Transports): Promise<DeliveryResult>
}
