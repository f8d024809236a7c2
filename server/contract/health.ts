import { Type, type Static } from '@sinclair/typebox'

/**
 * Why a component is down, as a stable code: the public readiness probe says this and the
 * component's name only (a raw driver message names hosts, ports and users).
 */
export const HEALTH_CODES = ['unreachable', 'timeout', 'error', 'low_disk', 'lagging'] as const
export const HealthCode = Type.Unsafe<(typeof HEALTH_CODES)[number]>({
  type: 'string',
  enum: [...HEALTH_CODES],
  description:
    'unreachable: cannot connect, or the connection was lost; timeout: no answer within the check’s deadline; ' +
    'error: it answered with an error; low_disk: DATA_DIR’s disk is nearly full; lagging: the event loop is late',
})

export const ComponentHealthView = Type.Object({
  component: Type.String(),
  up: Type.Boolean(),
  latencyMs: Type.Union([Type.Number(), Type.Null()]),
  code: Type.Optional(HealthCode),
  error: Type.Optional(Type.String({ description: 'What the check saw (driver and socket messages included)' })),
})

/** `GET /api/health` (viewers): every component with its latency, and the details of a failure. */
export const HealthView = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  components: Type.Array(ComponentHealthView),
})

/** `GET /health/ready` (public): ok, or which readiness components fail and why, as codes. */
export const ReadinessView = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  failing: Type.Array(Type.Object({ component: Type.String(), code: HealthCode })),
})

export type HealthCodeValue = Static<typeof HealthCode>
export type ComponentHealth = Static<typeof ComponentHealthView>
export type Health = Static<typeof HealthView>
export type Readiness = Static<typeof ReadinessView>
