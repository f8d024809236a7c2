/**
 * The live protocol: every message the server sends on `GET /api/live` (a WebSocket,
 * authenticated before the upgrade; viewer role and up). JSON text frames, each
 * `{ type, data }`. These are wire DTOs: server/live maps internal events to them, and the
 * hub sends nothing the contract does not declare here.
 *
 * Order on connect: `hello`, then `history`, then a `snapshot` per sampler tick, events as
 * they happen, and a `heartbeat` every heartbeat interval. The client sends nothing.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { AuditEntryView } from './audit.js'
import { Role } from './auth.js'
import { SnapshotView } from './metrics.js'
import { JobEventView } from './jobs.js'
import type { Wire } from './wire.js'

export const LIVE_PATH = '/api/live'

/**
 * Close code of a socket whose credentials ended: its session signed out or expired, or its
 * token was revoked (reason: 'signed out', 'session ended', 'token revoked'). Clients go to
 * sign-in instead of reconnecting. (1008: policy violation.)
 */
export const LIVE_CLOSE_AUTH_ENDED = 1008

const LabelSet = Type.Record(Type.String(), Type.String())
const message = <T extends string, D extends TSchema>(type: T, data: D) =>
  Type.Object({ type: Type.Literal(type), data })
/** An app event, from this instance or (with Redis configured) any instance of the fleet. */
const event = <T extends string, D extends TSchema>(type: T, data: D) =>
  Type.Object({ type: Type.Literal(type), instance: Type.String({ description: 'INSTANCE_ID of the origin' }), data })

export const HelloMessage = message(
  'hello',
  Type.Object({
    /** INSTANCE_ID of the instance this socket is connected to. */
    instance: Type.String(),
    /** Epoch ms on the server when the socket opened (clients show clock skew against it). */
    serverTime: Type.Number(),
    sampleIntervalMs: Type.Number(),
    heartbeatIntervalMs: Type.Number(),
    historyMinutes: Type.Number(),
    principal: Type.Object({ name: Type.String(), role: Role }),
  }),
)

/**
 * The recent past of every signal, column-aligned: `times[i]` is when `lines[j].values[i]`
 * was sampled (null when that line had no sample then). This is uPlot's data layout.
 */
export const SeriesHistoryView = Type.Object({
  /** Epoch ms, ascending. */
  times: Type.Array(Type.Number()),
  lines: Type.Array(
    Type.Object({
      name: Type.String(),
      labels: LabelSet,
      values: Type.Array(Type.Union([Type.Number(), Type.Null()])),
    }),
  ),
})

export const HistoryMessage = message('history', SeriesHistoryView)
/** One sampler tick of the instance this socket is connected to. */
export const SnapshotMessage = message('snapshot', SnapshotView)
export const HeartbeatMessage = message('heartbeat', Type.Object({ at: Type.Number() }))

export const HealthEventView = Type.Object({
  component: Type.String(),
  up: Type.Boolean(),
  latencyMs: Type.Union([Type.Number(), Type.Null()]),
  error: Type.Optional(Type.String()),
})

const Severity = Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')])
/** One transition of one alert, or an acknowledgement. Times are ISO 8601. */
export const AlertTransitionView = Type.Object({
  fingerprint: Type.String(),
  rule: Type.String(),
  severity: Severity,
  labels: LabelSet,
  annotations: LabelSet,
  from: Type.Union([Type.Literal('inactive'), Type.Literal('pending'), Type.Literal('firing')]),
  to: Type.Union([
    Type.Literal('pending'),
    Type.Literal('firing'),
    Type.Literal('inactive'),
    Type.Literal('resolved'),
    Type.Literal('acknowledged'),
  ]),
  value: Type.Union([Type.Number(), Type.Null()]),
  at: Type.String(),
  /** Acknowledgements: who and why. */
  by: Type.Optional(Type.String()),
  comment: Type.Optional(Type.String()),
})

export const AuditEventMessage = event('audit', AuditEntryView)
export const HealthEventMessage = event('health', HealthEventView)
export const AlertEventMessage = event('alert', AlertTransitionView)
export const JobEventMessage = event('job', JobEventView)

export const EventMessage = Type.Union([AuditEventMessage, HealthEventMessage, AlertEventMessage, JobEventMessage])
export const LiveMessage = Type.Union([HelloMessage, HistoryMessage, SnapshotMessage, HeartbeatMessage, EventMessage])

export type HelloMessage = Static<typeof HelloMessage>
export type SeriesHistory = Static<typeof SeriesHistoryView>
export type HistoryMessage = Static<typeof HistoryMessage>
export type SnapshotMessage = Static<typeof SnapshotMessage>
export type HeartbeatMessage = Static<typeof HeartbeatMessage>
export type HealthEvent = Static<typeof HealthEventView>
export type AlertEventDto = Static<typeof AlertTransitionView>
/** Events as they travel: dates already ISO strings. */
export type EventMessage = Wire<Static<typeof EventMessage>>
export type LiveEventName = EventMessage['type']
export type LiveMessage = HelloMessage | HistoryMessage | SnapshotMessage | HeartbeatMessage | EventMessage

/** The event types the hub forwards: exactly those declared above. */
export const LIVE_EVENT_NAMES = ['audit', 'health', 'alert', 'job'] as const satisfies readonly LiveEventName[]

/**
 * Close codes the server uses besides 1000/1001: 1013 "try again later" when the client
 * read too slowly (over the buffered limit), 1008 when the token behind the socket was
 * revoked (reconnecting will not help; sign in again).
 */
export type LiveCloseCode = 1008 | 1013
