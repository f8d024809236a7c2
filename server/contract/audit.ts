import { Type, type Static } from '@sinclair/typebox'
import { DateTime } from './common.js'
import type { Wire } from './wire.js'

/** One audit-log entry, as `GET /api/audit` and the live `audit` event carry it. */
export const AuditEntryView = Type.Object({
  id: Type.String(),
  at: DateTime,
  actor: Type.String(),
  actor_token_id: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  params: Type.Record(Type.String(), Type.Unknown()),
  result: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
  detail: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
})

export const AuditPage = Type.Object({
  entries: Type.Array(AuditEntryView),
  nextBefore: Type.Union([Type.String(), Type.Null()]),
})

export type AuditEntryDto = Wire<Static<typeof AuditEntryView>>
export type AuditPageDto = Wire<Static<typeof AuditPage>>
