import { generateToken } from '../../../server/auth/token-repository.js'
import { compare, FIRST_WARMUP_SECONDS, pairs, rotate, type Side } from '../lib/ab.js'
import type { HttpResult } from '../lib/load-types.js'
import type { Loader } from '../lib/loader.js'
import { row } from '../lib/report.js'
import type { Scenario } from '../lib/scenario.js'
import { startService, type Service } from '../lib/service.js'
import { settings } from '../lib/settings.js'

const CONNECTIONS = 100
/** Any route that needs credentials: the auth hook answers before the handler runs. */
const PATH = '/api/auth/me'

/** Every answer counts (they are all 401 or 429); a 2xx would mean the bogus token got in. */
function refusalSide(loader: Loader, label: string, service: Service, token: string | null): Side<HttpResult> {
  const spec = {
    url: `${service.url}${PATH}`,
    headers: (token ? { authorization: `Bearer ${token}` } : {}) as Record<string, string>,
    connections: CONNECTIONS,
  }
  return {
    label,
    procs: [service.proc],
    async measure(round) {
      const warmup = round === 0 ? Math.max(FIRST_WARMUP_SECONDS, settings.warmupSeconds) : settings.warmupSeconds
      if (warmup > 0) await loader.http({ ...spec, durationSec: warmup })
      const result = await loader.http({ ...spec, durationSec: settings.roundSeconds })
      if (result.ok > 0) throw new Error(`${label}: ${result.ok} requests answered 2xx`)
      if (result.non2xx === 0)
        throw new Error(`${label}: no answer (errors ${result.errors}, timeouts ${result.timeouts})`)
      return result
    },
  }
}

const describe = (r: HttpResult) =>
  `${Math.round(r.requestsPerSec).toLocaleString('en-US')} req/s p99 ${r.latencyMs.p99} ms${r.errors + r.timeouts ? ` (${r.errors} errors, ${r.timeouts} timeouts)` : ''}`

function transportNote(rounds: HttpResult[][]): string | undefined {
  const failed = rounds.flat().reduce((n, r) => n + r.errors + r.timeouts, 0)
  return failed ? `${failed} connection errors or timeouts` : undefined
}

/**
 * What a stranger with a made-up, well-formed `ccp_` token costs, against one with no token
 * at all, on an authenticated route (both are refused). With the defaults the address goes
 * over AUTH_FAILURE_LIMIT within the first round and is answered 429 from memory; with the
 * limit out of the way, the token is answered from the remembered miss (one lookup per
 * MISS_CACHE_MS). Before either, every such request was a database query.
 */
export const bogusTokens: Scenario = {
  id: 'bogus-tokens',
  title: 'bogus tokens',
  ours: `GET ${PATH} with a made-up well-formed token`,
  peer: 'the same route without a token',
  estimateSeconds: 60,
  inSuite: true,
  async run({ loader }) {
    const limited = await startService({ name: 'bogus-limited' })
    const unlimited = await startService({ name: 'bogus-unlimited', env: { AUTH_FAILURE_LIMIT: '1000000' } })
    try {
      const bogus = generateToken()
      const rounds = await rotate(
        [
          refusalSide(loader, 'bogus, default limit', limited, bogus),
          refusalSide(loader, 'none, default limit', limited, null),
          refusalSide(loader, 'bogus, no limit', unlimited, bogus),
          refusalSide(loader, 'none, no limit', unlimited, null),
        ],
        { describe },
      )
      const atLimit = compare(pairs(rounds, 0, 1), (r) => r.requestsPerSec)
      const missCache = compare(pairs(rounds, 2, 3), (r) => r.requestsPerSec)
      const goal = { op: '>=' as const, value: 0.8 }
      return {
        rows: [
          row(
            'throughput, bogus token vs none, defaults (address over AUTH_FAILURE_LIMIT: 429)',
            'req/s',
            atLimit.ours,
            atLimit.peer,
            atLimit.ratio,
            goal,
            transportNote(rounds.map((r) => [r[0]!, r[1]!])),
          ),
          row(
            '… limit out of the way (remembered miss: 401)',
            'req/s',
            missCache.ours,
            missCache.peer,
            missCache.ratio,
            goal,
            transportNote(rounds.map((r) => [r[2]!, r[3]!])),
          ),
        ],
        notes: [
          `${CONNECTIONS} connections, one token for the whole run; every response is counted (all are refusals).`,
          'A different made-up token per request (each a miss, so a lookup) is bounded by AUTH_FAILURE_LIMIT per address; autocannon here sends one header, so that case is not measured.',
        ],
        rounds,
      }
    } finally {
      await Promise.all([limited.stop(), unlimited.stop()])
    }
  },
}
