import { alternate, compare, describeHttp, failureNote, helloSide } from '../lib/ab.js'
import { startPeer } from '../lib/peers.js'
import { row } from '../lib/report.js'
import type { Scenario } from '../lib/scenario.js'

/**
 * Checks the harness itself: fastify publishes ~0.98× of node:http on this route; a ratio far
 * below that means the load generator or the pinning, not the servers, sets the pace.
 */
export const harness: Scenario = {
  id: 'harness',
  title: 'harness check',
  ours: 'bare fastify 5, GET /hello',
  peer: 'node:http, same JSON',
  estimateSeconds: 30,
  inSuite: true,
  async run({ loader }) {
    const fastify = await startPeer('fastify')
    const nodeHttp = await startPeer('node-http')
    try {
      const rounds = await alternate(helloSide(loader, 'fastify', fastify), helloSide(loader, 'node:http', nodeHttp), {
        describe: describeHttp,
      })
      const t = compare(rounds, (r) => r.okPerSec)
      return {
        rows: [row('throughput', 'req/s', t.ours, t.peer, t.ratio, { op: '>=', value: 0.9 }, failureNote(rounds))],
        notes: [],
        rounds,
      }
    } finally {
      await Promise.all([fastify.stop(), nodeHttp.stop()])
    }
  },
}
