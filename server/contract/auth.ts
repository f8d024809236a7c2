import { Type, type Static } from '@sinclair/typebox'
import { DateTime, NullableDateTime } from './common.js'
import type { Wire } from './wire.js'

export const Role = Type.Union([Type.Literal('admin'), Type.Literal('viewer'), Type.Literal('chat')])
export type RoleName = Static<typeof Role>

/** Who the credentials of a request belong to (`GET /api/auth/me`, sign-in, live `hello`). */
export const PrincipalView = Type.Object({
  tokenId: Type.String(),
  name: Type.String(),
  role: Role,
  via: Type.Union([Type.Literal('bearer'), Type.Literal('session')]),
})
export type PrincipalDto = Static<typeof PrincipalView>

/** An API token as listed (never its secret). */
export const TokenView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  role: Role,
  token_prefix: Type.String({ description: 'First characters of the token, to recognise it' }),
  created_by: Type.Union([Type.String(), Type.Null()]),
  created_at: DateTime,
  last_used_at: NullableDateTime,
  revoked_at: NullableDateTime,
})
export type TokenDto = Wire<Static<typeof TokenView>>
