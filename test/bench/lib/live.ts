import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket from 'ws'
import type { WsMeasureResult, WsOpenResult } from './load-types.js'
import type { Loader } from './loader.js'
import { startPeer } from './peers.js'
import type { Proc } from './procs.js'
import { RUN_DIR } from './procs.js'
import type { Service } from './service.js'

export const SNAPSHOT_MARKER = '{"type":"snapshot"'

export const wsUrl = (httpUrl: string) => `${httpUrl.replace(/^http/, 'ws')}/api/live`

/**
 * The live feed's caps for a service that `clients` dashboards join with one admin token
 * (its default per-token cap is far below a thousand): room for all of them, twice over so
 * that a round's closing sockets never crowd out the next round's.
 */
export function liveCapsEnv(clients: number): Record<string, string> {
  return {
    LIVE_MAX_CONNECTIONS_PER_TOKEN: String(2 * clients),
    LIVE_MAX_CONNECTIONS: String(Math.max(5_000, 2 * clients)),
  }
}

/**
 * The bare `ws` peer for a service's live feed: it broadcasts one real snapshot frame of the
 * service once a second, as the service (SAMPLE_INTERVAL_MS=1000) does. Returns after both are
 * three seconds old, past their start-up allocation.
 */
export async function startBroadcastPeer(service: Service): Promise<Proc> {
  const frameFile = await captureSnapshotFrame(service)
  const peer = await startPeer('ws-broadcast', { FRAME_FILE: frameFile, INTERVAL_MS: '1000' }, '/')
  await sleep(3_000)
  return peer
}

/** One real snapshot frame of the service, saved for the bare `ws` peer to broadcast. */
async function captureSnapshotFrame(service: Service, timeoutMs = 10_000): Promise<string> {
  const socket = new WebSocket(wsUrl(service.url), { headers: service.headers })
  try {
    const frame = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no snapshot frame from /api/live')), timeoutMs)
      socket.on('message', (data) => {
        const text = String(data)
        if (!text.startsWith(SNAPSHOT_MARKER)) return
        clearTimeout(timer)
        resolve(text)
      })
      socket.once('error', reject)
    })
    const file = join(RUN_DIR, 'snapshot-frame.json')
    writeFileSync(file, frame)
    return file
  } finally {
    socket.close()
  }
}

export type FanoutMeasure = WsMeasureResult & { connect: WsOpenResult; rssBytes: number }

/**
 * Opens `clients` sockets to `proc`, times the snapshot frames they receive for
 * `durationMs`, reads the server's RSS while they are still open, closes them.
 */
export async function fanout(
  loader: Loader,
  proc: Proc,
  url: string,
  headers: Record<string, string>,
  clients: number,
  durationMs: number,
): Promise<FanoutMeasure> {
  const connect = await loader.wsOpen(url, clients, headers, SNAPSHOT_MARKER)
  try {
    if (connect.connected < clients)
      throw new Error(`only ${connect.connected} of ${clients} sockets opened (${connect.lastError})`)
    const measured = await loader.wsMeasure(connect.handle, durationMs)
    return { ...measured, connect, rssBytes: proc.rssBytes() }
  } finally {
    await loader.wsClose(connect.handle)
  }
}

export function fanoutSide(
  loader: Loader,
  label: string,
  proc: Proc,
  url: string,
  headers: Record<string, string>,
  clients: number,
  durationMs: number,
) {
  return { label, procs: [proc], measure: () => fanout(loader, proc, url, headers, clients, durationMs) }
}
