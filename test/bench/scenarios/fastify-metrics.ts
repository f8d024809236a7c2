import { compare, describeHttp, failureNote, helloSide, pairs, rotate } from '../lib/ab.js'
import { startPeer } from '../lib/peers.js'
import { row } from '../lib/report.js'
import type { Scenario } from '../lib/scenario.js'

/**
 * Our HTTP instrumentation against the plugin users would otherwise install, on the same
 * route: fastify-metrics as its README registers it (route histogram + summary, default
 * metrics), and, for a like-for-like view, with its summary off (histogram only, as ours).
 */
export const fastifyMetrics: Scenario = {
  id: 'fastify-metrics',
  title: 'vs fastify-metrics',
  ours: 'bare fastify + our HTTP instrumentation (server/metrics), GET /hello',
  peer: 'bare fastify + fastify-metrics 12, GET /hello',
  estimateSeconds: 50,
  inSuite: true,
  async run({ loader }) {
    const ours = await startPeer('fastify-ours')
    const plugin = await startPeer('fastify-metrics')
    const histogramOnly = await startPeer('fastify-metrics', { FM_SUMMARY: '0' })
    try {
      const rounds = await rotate(
        [
          helloSide(loader, 'ours', ours),
          helloSide(loader, 'fastify-metrics', plugin),
          helloSide(loader, 'fastify-metrics (summary off)', histogramOnly),
        ],
        { describe: describeHttp },
      )
      const defaults = pairs(rounds, 0, 1)
      const like = pairs(rounds, 0, 2)
      const a = compare(defaults, (r) => r.okPerSec)
      const b = compare(like, (r) => r.okPerSec)
      return {
        rows: [
          row(
            'throughput vs plugin defaults',
            'req/s',
            a.ours,
            a.peer,
            a.ratio,
            { op: '>=', value: 1.0 },
            failureNote(defaults),
          ),
          row('throughput vs plugin, summary off', 'req/s', b.ours, b.peer, b.ratio, null, failureNote(like)),
        ],
        notes: [],
        rounds,
      }
    } finally {
      await Promise.all([ours.stop(), plugin.stop(), histogramOnly.stop()])
    }
  },
}
