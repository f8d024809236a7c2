import { Type, type Static } from '@sinclair/typebox'

export const InstanceView = Type.Object({
  id: Type.String(),
  version: Type.String(),
  host: Type.String(),
  pid: Type.Integer(),
  startedAt: Type.String({ format: 'date-time' }),
  lastHeartbeat: Type.String({ format: 'date-time' }),
  /** From the server's clock at `serverTime`, not rounded. */
  uptimeSeconds: Type.Number({ minimum: 0 }),
  self: Type.Boolean(),
  leader: Type.Boolean(),
})

/** `GET /api/instances`. */
export const InstancesView = Type.Object({
  instances: Type.Array(InstanceView),
  leaderId: Type.Union([Type.String(), Type.Null()]),
  redis: Type.Boolean(),
  /** The answering instance's clock when it answered (ages and uptimes are relative to it). */
  serverTime: Type.String({ format: 'date-time' }),
  /** How often instances announce themselves: an instance silent for two intervals is stale. */
  heartbeatIntervalMs: Type.Integer({ minimum: 1 }),
})
export type InstanceDto = Static<typeof InstanceView>
export type InstancesDto = Static<typeof InstancesView>
