/**
 * The live protocol: every message the server sends on `GET /api/live` (a WebSocket,
 * authenticated before the upgrade; viewer role and up). JSON text frames, each
 * `{ type, data }`. The dashboard imports these with `import type` only.
 *
 * Order on connect: `hello`, then `history`, then a `snapshot` per sampler tick, events as
 * they happen, and a `heartbeat` every heartbeat interval. The client sends nothing.
 */
import type { TokenRole } from '../db/schema.js'
import type { AppEventMap } from '../events.js'
import type { Labels, Snapshot } from '../metrics/snapshot.js'

export const LIVE_PATH = '/api/live'

/** What JSON.stringify makes of a value: Dates become ISO strings. */
export type Wire<T> = T extends Date
  ? string
  : T extends Array<infer U>
    ? Array<Wire<U>>
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T

export interface HelloMessage {
  type: 'hello'
  data: {
    /** INSTANCE_ID of the instance this socket is connected to. */
    instance: string
    /** Epoch ms on the server when the socket opened (clients show clock skew against it). */
    serverTime: number
    sampleIntervalMs: number
    heartbeatIntervalMs: number
    historyMinutes: number
    principal: { name: string; role: TokenRole }
  }
}

/**
 * The recent past of every signal, column-aligned: `times[i]` is when `lines[j].values[i]`
 * was sampled (null when that line had no sample then). This is uPlot's data layout.
 */
export interface SeriesHistory {
  /** Epoch ms, ascending. */
  times: number[]
  lines: Array<{ name: string; labels: Labels; values: Array<number | null> }>
}

export interface HistoryMessage {
  type: 'history'
  data: SeriesHistory
}

/** One sampler tick of the instance this socket is connected to. */
export interface SnapshotMessage {
  type: 'snapshot'
  data: Snapshot
}

export interface HeartbeatMessage {
  type: 'heartbeat'
  data: { at: number }
}

/** App events the hub forwards: every name in AppEventMap except the snapshot itself. */
export type LiveEventName = Exclude<keyof AppEventMap, 'snapshot'>

/**
 * An app event (audit entry, health change, alert transition, job progress...), from this
 * instance or, with Redis configured, from any instance of the fleet (`instance` says which).
 */
export type EventMessage = {
  [K in LiveEventName]: { type: K; instance: string; data: Wire<AppEventMap[K][0]> }
}[LiveEventName]

export type LiveMessage = HelloMessage | HistoryMessage | SnapshotMessage | HeartbeatMessage | EventMessage

/**
 * Close codes the server uses besides 1000/1001: 1013 "try again later" when the client
 * read too slowly (over the buffered limit), 1008 when the token behind the socket was
 * revoked (reconnecting will not help; sign in again).
 */
export type LiveCloseCode = 1008 | 1013
