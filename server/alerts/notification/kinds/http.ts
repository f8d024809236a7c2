import { badRequest } from '../../../errors.js'
import type { ReceiverUpdateInput } from '../../../contract/alerts.js'
import type { ReceiverRow } from '../receiver-repository.js'
import type { KindDelivery, ReceiverKindModule, Transports } from './types.js'

/** The body's url, or the stored one an update keeps (same kind only). */
export function urlOf(body: ReceiverUpdateInput, stored: ReceiverRow | null, fallback?: string): string {
  const kept = stored && stored.kind === (body.kind ?? 'webhook') ? stored.url : undefined
  const url = body.url ?? kept ?? fallback
  if (!url) throw badRequest(`body/url is required for a ${body.kind ?? 'webhook'} receiver`, 'validation_error')
  return url
}

export function refuseFields(body: ReceiverUpdateInput, fields: Array<keyof ReceiverUpdateInput>): void {
  for (const field of fields)
    if (body[field] !== undefined && body[field] !== null)
      throw badRequest(`body/${field} does not apply to a ${body.kind ?? 'webhook'} receiver`, 'validation_error')
}

export const postSigned = (d: KindDelivery, t: Transports) =>
  t.http.post({ url: d.url, body: d.body, idempotencyKey: d.idempotencyKey, secret: d.secret }, d.now)

/** A kind that POSTs its rendered body to its URL: teams, discord (and the base of webhook). */
export function httpKind(refused: Array<keyof ReceiverUpdateInput>): ReceiverKindModule {
  return {
    validate(body, stored) {
      refuseFields(body, refused)
      return { url: urlOf(body, stored), settings: {}, credential: null }
    },
    send: postSigned,
  }
}
