import { TokenUsageView } from './usage.js'
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

/** Tokens of one project share their chat data, limits and budget. */
export const ProjectName = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  description: 'Letters, digits, ".", "_" and "-"; tokens of one project share their chat data',
})

const PositiveInt = (description: string) => Type.Integer({ minimum: 1, maximum: 1_000_000_000, description })

/** Per-token limits; a field left out is the CHAT_DEFAULT_* value (unset there: unlimited). */
export const TokenLimits = Type.Object(
  {
    rpm: Type.Optional(PositiveInt('Requests a minute')),
    tpm: Type.Optional(PositiveInt('Tokens a minute, prompt + completion')),
    concurrency: Type.Optional(PositiveInt('Requests in flight')),
  },
  { additionalProperties: false },
)

/** A spending cap per UTC day or month: tokens, cost in USD, or both. */
export const TokenBudget = Type.Object(
  {
    tokens: Type.Optional(PositiveInt('Prompt + completion tokens per period')),
    cost: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000_000, description: 'USD per period' })),
    period: Type.Union([Type.Literal('day'), Type.Literal('month')]),
  },
  { additionalProperties: false },
)

/** What POST and PATCH /api/tokens accept beyond name and role. */
export const TokenGrantFields = {
  project: Type.Optional(Type.Union([ProjectName, Type.Null()])),
  expires_at: Type.Optional(NullableDateTime),
  limits: Type.Optional(TokenLimits),
  budget: Type.Optional(Type.Union([TokenBudget, Type.Null()])),
}

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
  project: Type.Union([Type.String(), Type.Null()]),
  expires_at: NullableDateTime,
  limits: TokenLimits,
  budget: Type.Union([TokenBudget, Type.Null()]),
  /** Usage in the budget period (GET /api/tokens only). */
  usage: Type.Optional(TokenUsageView),
})
export type TokenDto = Wire<Static<typeof TokenView>>
