import { setTimeout as sleep } from 'node:timers/promises'
import { liveCapsEnv, SNAPSHOT_MARKER, startBroadcastPeer, wsUrl } from '../lib/live.js'
import type { Loader } from '../lib/loader.js'
import type { Proc } from '../lib/procs.js'
import { row } from '../lib/report.js'
import type { Scenario } from '../lib/scenario.js'
import { startService } from '../lib/service.js'
import { settings } from '../lib/settings.js'
import { median } from '../lib/stats.js'

const MiB = 1024 * 1024

/** RSS read three times a second apart, median: a GC in the middle does not decide the figure. */
async function rss(proc: Proc): Promise<number> {
  const values: number[] = []
  for (let i = 0; i < 3; i++) {
    values.push(proc.rssBytes())
    await sleep(1_000)
  }
  return median(values)
}

async function measure(loader: Loader, proc: Proc, url: string, headers: Record<string, string>) {
  const idle = await rss(proc)
  const open = await loader.wsOpen(url, settings.wsClients, headers, SNAPSHOT_MARKER)
  try {
    await sleep(2_000) // a couple of snapshots reach every client
    return { idle, withClients: await rss(proc), connected: open.connected }
  } finally {
    await loader.wsClose(open.handle)
  }
}

interface RssPair {
  idle: number
  withClients: number
}

/**
 * The "per client" row: RSS growth over the clients. RSS moves with the garbage collector by
 * more than a thousand clients cost, so growth at or below zero is shown as "—" with a note,
 * never as a negative cost.
 */
export function perClientRows(
  ours: RssPair,
  peer: RssPair,
  clients: number,
): { rows: ReturnType<typeof row>[]; notes: string[] } {
  const kib = (m: RssPair) => {
    const value = (m.withClients - m.idle) / clients / 1024
    return value > 0 ? value : null
  }
  const [a, b] = [kib(ours), kib(peer)]
  const notes = [
    ...(a === null
      ? [
          'ours: RSS with the clients was not above idle (the collector returned more than they took), so no per-client figure',
        ]
      : []),
    ...(b === null ? ['peer: RSS with the clients was not above idle, so no per-client figure'] : []),
  ]
  return { rows: [row('per client', 'KiB', a, b, a !== null && b !== null ? a / b : null, null)], notes }
}

/**
 * Resident memory of the whole service idle and with 1,000 dashboards; a bare ws server
 * beside it. The suite gets this table from the websocket scenario; this one is for
 * `npm run bench -- memory` alone.
 */
export const memory: Scenario = {
  id: 'memory',
  title: 'memory',
  ours: 'the whole service (RSS)',
  peer: 'bare ws server (RSS)',
  estimateSeconds: 35,
  inSuite: false,
  async run({ loader }) {
    const service = await startService({
      name: 'memory',
      env: { SAMPLE_INTERVAL_MS: '1000', ...liveCapsEnv(settings.wsClients) },
    })
    try {
      const peer = await startBroadcastPeer(service)
      const ours = await measure(loader, service.proc, wsUrl(service.url), service.headers)
      const theirs = await measure(loader, peer, wsUrl(peer.url), {})
      await peer.stop()
      const mib = (b: number) => b / MiB
      const perClient = perClientRows(ours, theirs, settings.wsClients)
      return {
        rows: [
          row('RSS idle', 'MiB', mib(ours.idle), mib(theirs.idle), null, null),
          row(
            `RSS with ${settings.wsClients} live clients`,
            'MiB',
            mib(ours.withClients),
            mib(theirs.withClients),
            null,
            null,
          ),
          ...perClient.rows,
        ],
        notes: [
          ...(ours.connected < settings.wsClients ? [`only ${ours.connected} clients connected to ours`] : []),
          ...perClient.notes,
        ],
      }
    } finally {
      await service.stop()
    }
  },
}
