import { PAGERDUTY_EVENTS_URL } from '../../../../alerts/kinds/pagerduty.js'
import { badRequest } from '../../../errors.js'
import type { DeliveryResult } from '../delivery.js'
import { refuseFields } from './http.js'
import type { ReceiverKindModule } from './types.js'

const RANK = { delivered: 0, retry: 1, failed: 2 } as const

/**
 * Events API v2: each event of the rendered list is posted with the routing key added (it is
 * a secret: kept out of the stored body). PagerDuty answers 202; 400 is for good; 429 and 5xx
 * are retried, the whole list again (dedup_key makes that harmless).
 */
export const pagerdutyKind: ReceiverKindModule = {
  validate(body, stored) {
    refuseFields(body, ['email', 'telegram', 'template', 'url'])
    const keepsKey = stored?.kind === 'pagerduty' && stored.credential !== null
    if (!body.pagerduty?.routingKey && !keepsKey)
      throw badRequest('body/pagerduty/routingKey is required for a pagerduty receiver', 'validation_error')
    const url = body.pagerduty?.url ?? (stored?.kind === 'pagerduty' ? stored.url : PAGERDUTY_EVENTS_URL)
    return { url, settings: {}, credential: body.pagerduty?.routingKey }
  },
  async send(d, t) {
    const events = JSON.parse(d.body) as Array<Record<string, unknown>>
    let worst: DeliveryResult = { outcome: 'delivered', statusCode: null, error: null, retryAfterMs: null }
    for (const [i, event] of events.entries()) {
      const body = JSON.stringify({ routing_key: d.credential ?? '', ...event })
      const result = await t.http.post(
        { url: d.url, body, idempotencyKey: `${d.idempotencyKey}-${i}`, secret: null },
        d.now,
      )
      if (RANK[result.outcome] >= RANK[worst.outcome]) worst = result
      if (result.outcome === 'failed') break
    }
    return worst
  },
}
