import { compare, describeHttp, failureNote, helloSide, pairs, rotate } from '../lib/ab.js'
import { alternateChatHits, startChatService } from '../lib/chat.js'
import { startPeer } from '../lib/peers.js'
import { row, type Row } from '../lib/report.js'
import type { Scenario } from '../lib/scenario.js'
import { serviceReads } from '../lib/service.js'
import { settings } from '../lib/settings.js'

/** The switch the service needs for a whole-app baseline (asked of the integrator; used once it exists). */
export const METRICS_SWITCH = 'METRICS_ENABLED'

/**
 * What observing a request costs. Always: our HTTP instrumentation (server/metrics) and
 * pino request logging at info, on fastify's cheapest route, against the same route with
 * neither — the strictest case, since the route itself costs almost nothing. When the
 * service has a metrics switch: the whole app on the chat hot path, LOG_LEVEL=info and
 * metrics on against LOG_LEVEL=silent and metrics off.
 */
export const instrumentation: Scenario = {
  id: 'instrumentation',
  title: 'instrumentation',
  ours: 'metrics + request logging (info) on',
  peer: 'the same route with both off',
  estimateSeconds: 90,
  inSuite: true,
  async run({ loader }) {
    const rows: Row[] = []
    const notes: string[] = []
    const allRounds: Record<string, unknown> = {}
    const hasSwitch = serviceReads(METRICS_SWITCH)
    const wholeApp = Boolean(settings.redisUrl)
    const goal = { op: '>=' as const, value: 0.9 }

    const both = await startPeer('fastify-ours', { LOGGING: '1' })
    const metricsOnly = await startPeer('fastify-ours')
    const off = await startPeer('fastify')
    try {
      const rounds = await rotate(
        [
          helloSide(loader, 'metrics + logging', both),
          helloSide(loader, 'metrics only', metricsOnly),
          helloSide(loader, 'bare', off),
        ],
        { describe: describeHttp },
      )
      const t = compare(pairs(rounds, 0, 2), (r) => r.okPerSec)
      const m = compare(pairs(rounds, 1, 2), (r) => r.okPerSec)
      rows.push(
        row(
          'throughput, GET /hello on bare fastify, metrics + logging',
          'req/s',
          t.ours,
          t.peer,
          t.ratio,
          wholeApp ? null : goal,
          failureNote(pairs(rounds, 0, 2)),
        ),
      )
      rows.push(row('… metrics only (logging off)', 'req/s', m.ours, m.peer, m.ratio, null))
      allRounds.hello = rounds
    } finally {
      await Promise.all([both.stop(), metricsOnly.stop(), off.stop()])
    }

    if (wholeApp) {
      const instrumented = await startChatService('instrumented', { LOG_LEVEL: 'info' })
      const quiet = await startChatService('uninstrumented', {
        LOG_LEVEL: 'silent',
        ...(hasSwitch ? { [METRICS_SWITCH]: 'false' } : {}),
      })
      try {
        const rounds = await alternateChatHits(loader, ['instrumented', instrumented], ['bare', quiet])
        const t = compare(rounds, (r) => r.okPerSec)
        const what = hasSwitch ? 'metrics + logging' : 'logging (info vs silent; metrics on in both)'
        rows.unshift(
          row(
            `throughput, whole app, chat cache hit, ${what}`,
            'req/s',
            t.ours,
            t.peer,
            t.ratio,
            goal,
            failureNote(rounds),
          ),
        )
        allRounds.app = rounds
      } finally {
        await Promise.all([instrumented.stop(), quiet.stop()])
      }
      if (!hasSwitch) {
        notes.push(
          `The service has no ${METRICS_SWITCH} switch yet: in the whole app only logging can be turned off, so the metrics' share is measured on the bare route (metrics-only row), where a request costs least and the share is largest.`,
        )
      }
    } else {
      notes.push(
        'Without REDIS_URL the whole-app comparison (chat answered from Redis) is not run; the goal is judged on the bare-route pair.',
      )
    }
    return { rows, notes, rounds: allRounds }
  },
}
