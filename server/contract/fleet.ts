import { Type, type Static } from '@sinclair/typebox'

export const InstanceView = Type.Object({
  id: Type.String(),
  version: Type.String(),
  host: Type.String(),
  pid: Type.Integer(),
  startedAt: Type.String({ format: 'date-time' }),
  lastHeartbeat: Type.String({ format: 'date-time' }),
  uptimeSeconds: Type.Number(),
  self: Type.Boolean(),
  leader: Type.Boolean(),
})

/** `GET /api/instances`. */
export const InstancesView = Type.Object({
  instances: Type.Array(InstanceView),
  leaderId: Type.Union([Type.String(), Type.Null()]),
  redis: Type.Boolean(),
})
export type InstanceDto = Static<typeof InstanceView>
export type InstancesDto = Static<typeof InstancesView>
