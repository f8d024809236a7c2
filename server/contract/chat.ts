import { Type, type TSchema } from '@sinclair/typebox'
import { DateTime, FreeJsonObject } from './common.js'

/** A string from a fixed set, with a plain "must be equal to one of the allowed values" error. */
export const StringEnum = <T extends string>(values: readonly T[], options: Record<string, unknown> = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options })

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
export const Metadata = FreeJsonObject()

export const SessionView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  user_ref: Nullable(Type.String()),
  metadata: Metadata,
  scope: Nullable(
    Type.String({ description: 'Whose it is: project:<name> or token:<id>; null for data from before tenancy' }),
  ),
  created_at: DateTime,
  last_active_at: DateTime,
})

export const ConversationView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  session_id: Type.String({ format: 'uuid' }),
  scope: Nullable(
    Type.String({ description: 'Whose it is: project:<name> or token:<id>; null for data from before tenancy' }),
  ),
  title: Nullable(Type.String()),
  model: Nullable(Type.String()),
  metadata: Metadata,
  created_at: DateTime,
  updated_at: DateTime,
})

export const MessageView = Type.Object({
  id: Type.String({ description: 'Increasing with insertion order; the keyset for pagination' }),
  conversation_id: Type.String({ format: 'uuid' }),
  role: StringEnum(['system', 'user', 'assistant'] as const),
  content: Type.String(),
  model: Nullable(Type.String()),
  tokens_input: Nullable(Type.Integer()),
  tokens_output: Nullable(Type.Integer()),
  latency_ms: Nullable(Type.Integer()),
  cached: Type.Boolean(),
  created_at: DateTime,
})

export const UsageView = Type.Object({
  prompt_tokens: Type.Integer(),
  completion_tokens: Type.Integer(),
  total_tokens: Type.Integer(),
})

export const usageView = (usage: { prompt_tokens: number; completion_tokens: number }) => ({
  prompt_tokens: usage.prompt_tokens,
  completion_tokens: usage.completion_tokens,
  total_tokens: usage.prompt_tokens + usage.completion_tokens,
})

/** Per-request cache control, as LiteLLM takes it in the body. */
export const CacheControlBody = Type.Object(
  {
    'no-cache': Type.Optional(
      Type.Boolean({ description: 'Do not answer from the cache (the fresh answer is still stored)' }),
    ),
    'no-store': Type.Optional(Type.Boolean({ description: 'Do not store this answer' })),
    ttl: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400, description: 'Seconds to keep this answer' })),
    namespace: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_.-]{1,64}$',
        description: 'Keep this answer apart, under ai_response:<namespace>',
      }),
    ),
  },
  { additionalProperties: false },
)

/** Sampling parameters both APIs accept (OpenAI's names and ranges). */
export const samplingProperties = {
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
  top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  presence_penalty: Type.Optional(Type.Number({ minimum: -2, maximum: 2 })),
  frequency_penalty: Type.Optional(Type.Number({ minimum: -2, maximum: 2 })),
  seed: Type.Optional(Type.Integer()),
  // A null coerces to '' through the string branch; samplingParams drops empty stop sequences.
  stop: Type.Optional(
    Type.Union([Type.String({ maxLength: 200 }), Type.Array(Type.String({ maxLength: 200 }), { maxItems: 4 })], {
      description: 'Up to 4 stop sequences',
    }),
  ),
}

export const ModelName = Type.String({ minLength: 1, maxLength: 200 })
