import { compare, failureNote } from '../lib/ab.js'
import { alternateChatHits, CHAT_CONNECTIONS, startChatService } from '../lib/chat.js'
import { row } from '../lib/report.js'
import { skipped, type Scenario } from '../lib/scenario.js'
import type { Service } from '../lib/service.js'
import { settings } from '../lib/settings.js'

/** The largest value a limit or a token budget accepts (server/contract/auth.ts): never reached here. */
const NEVER = 1_000_000_000

/**
 * What limits and budgets cost a cache hit: one service, two chat tokens in their own scopes
 * (each warms its own cache entries), one with rpm/tpm/concurrency and a day budget of tokens
 * and cost far out of reach, the other with none (CHAT_DEFAULT_* unset). Usage accounting has
 * no switch: both sides add to the hourly rollup.
 */
export const limits: Scenario = {
  id: 'limits',
  title: 'limits and budgets',
  ours: `chat cache hits from Redis at ${CHAT_CONNECTIONS} connections, token with rpm/tpm/concurrency limits and a budget (never reached), usage accounted`,
  peer: 'the same service, a chat token without limits or budget (no CHAT_DEFAULT_*), usage accounted',
  estimateSeconds: 40,
  inSuite: true,
  async run({ loader }) {
    if (!settings.redisUrl) return skipped('needs REDIS_URL')
    const service = await startChatService('limits')
    try {
      const limited = await chatToken(service, 'bench-limited', {
        limits: { rpm: NEVER, tpm: NEVER, concurrency: NEVER },
        budget: { tokens: NEVER, cost: NEVER, period: 'day' },
      })
      const plain = await chatToken(service, 'bench-plain', {})
      const rounds = await alternateChatHits(loader, ['limited', limited], ['plain', plain])
      const t = compare(rounds, (r) => r.okPerSec)
      return {
        rows: [row('throughput', 'req/s', t.ours, t.peer, t.ratio, { op: '>=', value: 0.95 }, failureNote(rounds))],
        notes: [
          'The service has no switch for usage accounting: every completion adds to the usage rollup on both sides, so the ratio is the cost of the limits and the budget reservation.',
        ],
        rounds,
      }
    } finally {
      await service.stop()
    }
  },
}

/** A chat token created through the API, as a Service whose requests carry it. */
async function chatToken(service: Service, name: string, grant: Record<string, unknown>): Promise<Service> {
  const { secret } = await service.api<{ secret: string }>('POST', '/api/tokens', { name, role: 'chat', ...grant })
  return { ...service, headers: { authorization: `Bearer ${secret}` } }
}
