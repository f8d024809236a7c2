import { setTimeout as sleep } from 'node:timers/promises'
import { alternate, compare } from '../lib/ab.js'
import { liveCapsEnv, startBroadcastPeer, fanoutSide, wsUrl } from '../lib/live.js'
import type { Proc } from '../lib/procs.js'
import { row } from '../lib/report.js'
import type { Scenario } from '../lib/scenario.js'
import { startService } from '../lib/service.js'
import { settings } from '../lib/settings.js'
import { median } from '../lib/stats.js'
import { perClientRows } from './memory.js'

/** Three ticks per round. */
const MEASURE_MS = 3_000
const MiB = 1024 * 1024

/** RSS of each process, three readings a second apart, median: a GC does not decide the figure. */
async function idleRss(procs: Proc[]): Promise<number[]> {
  const readings: number[][] = procs.map(() => [])
  for (let i = 0; i < 3; i++) {
    procs.forEach((p, k) => readings[k]!.push(p.rssBytes()))
    await sleep(1_000)
  }
  return readings.map(median)
}

/**
 * 1,000 dashboards on /api/live at one snapshot a second: how late each frame arrives
 * (receive time − the snapshot's `at`) and how many arrive, against a bare `ws` server
 * broadcasting the same frame (its `at` set when sent) at the same rate. On the way, the
 * memory table: RSS idle and with the clients connected.
 */
export const websocket: Scenario = {
  id: 'websocket',
  title: 'WebSocket fan-out',
  ours: `our live hub, ${settings.wsClients} clients, SAMPLE_INTERVAL_MS=1000`,
  peer: 'bare ws server broadcasting the same frame every second',
  estimateSeconds: 70,
  inSuite: true,
  async run({ loader }) {
    const service = await startService({
      name: 'websocket',
      env: { SAMPLE_INTERVAL_MS: '1000', ...liveCapsEnv(settings.wsClients) },
    })
    try {
      const peer = await startBroadcastPeer(service)
      const [oursIdle, peerIdle] = await idleRss([service.proc, peer])
      const clients = settings.wsClients
      const rounds = await alternate(
        fanoutSide(loader, 'hub', service.proc, wsUrl(service.url), service.headers, clients, MEASURE_MS),
        fanoutSide(loader, 'ws', peer, wsUrl(peer.url), {}, clients, MEASURE_MS),
        {
          describe: (m) =>
            `p99 ${m.delayMs.p99} ms, ${m.frames} frames of ${m.snapshots} snapshots (connect ${m.connect.connectMs} ms)`,
        },
      )
      const p99 = compare(rounds, (m) => m.delayMs.p99)
      const delivered = compare(rounds, (m) => m.framesPerSnapshot)
      const loaded = compare(rounds, (m) => m.rssBytes)
      const perClient = perClientRows(
        { idle: oursIdle!, withClients: loaded.ours },
        { idle: peerIdle!, withClients: loaded.peer },
        clients,
      )
      return {
        rows: [
          row('p99 delivery delay', 'ms', p99.ours, p99.peer, p99.ratio, { op: '<=', value: 100, on: 'ours' }),
          row('frames delivered per snapshot (1/s)', 'frames', delivered.ours, delivered.peer, delivered.ratio, {
            op: '>=',
            value: 0.8,
          }),
        ],
        notes: [
          `Delay = receive time − the frame's "at" on one clock; ours includes computing the snapshot (its "at" is the tick), the peer's starts at the send.`,
        ],
        rounds,
        also: [
          {
            id: 'memory',
            title: 'memory',
            ours: 'the whole service (RSS)',
            peer: 'bare ws server (RSS)',
            rows: [
              row('RSS idle', 'MiB', oursIdle! / MiB, peerIdle! / MiB, null, null),
              row(`RSS with ${clients} live clients`, 'MiB', loaded.ours / MiB, loaded.peer / MiB, null, null),
              ...perClient.rows,
            ],
            notes: [
              'Measured with the WebSocket fan-out rounds (median over rounds, read while the clients are connected).',
              ...perClient.notes,
            ],
          },
        ],
      }
    } finally {
      await service.stop()
    }
  },
}
