import { Type } from '@sinclair/typebox'

/** Schemas shared by many routes. */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
      upstreamStatus: Type.Optional(
        Type.Integer({ description: 'upstream_error: the HTTP status the upstream answered with, when it answered' }),
      ),
    }),
  },
  { description: 'Every error has this shape' },
)

/** Errors of the OpenAI-compatible API (/v1/*): OpenAI's shape, which its clients branch on. */
export const OpenAiErrorResponse = Type.Object(
  {
    error: Type.Object({
      message: Type.String(),
      type: Type.String({
        description: 'invalid_request_error, authentication_error, requests, tokens, server_error, …',
      }),
      param: Type.Union([Type.String(), Type.Null()]),
      code: Type.String({ description: 'rate_limit_exceeded, invalid_request_error, upstream_error, …' }),
      upstreamStatus: Type.Optional(
        Type.Integer({ description: 'upstream_error: the HTTP status the upstream answered with, when it answered' }),
      ),
    }),
  },
  { description: "Every /v1 error has this shape (OpenAI's)" },
)

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) })

/** A timestamp: rows carry Dates, the wire carries ISO 8601 strings (the serializer converts). */
export const DateTime = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' })
export const NullableDateTime = Type.Unsafe<Date | string | null>({ type: ['string', 'null'], format: 'date-time' })

/**
 * How deep and how big a free-form JSON field may be (metadata, the extra fields of an OpenAI
 * request). Deeper or bigger is a 400 naming the field: such a value would otherwise reach
 * JSON.stringify, jsonb and the logs, and 5,000 levels overflow the stack.
 */
export const JSON_LIMITS = { maxDepth: 8, maxBytes: 16_384 } as const
/** The schema keyword that carries JSON_LIMITS (Ajv learns it in server/infra/http/json-limits.ts). */
export const JSON_LIMITS_KEYWORD = 'x-json-limits'

const limitsNote = `at most ${JSON_LIMITS.maxDepth} levels deep and ${JSON_LIMITS.maxBytes / 1024} KB as JSON`
const limited = (description: string) => ({
  [JSON_LIMITS_KEYWORD]: JSON_LIMITS,
  description: `${description} (${limitsNote})`,
})

/** Any JSON value, within JSON_LIMITS. Every free-form field of a request uses this or FreeJsonObject. */
export const FreeJson = (description = 'Any JSON value') => Type.Unknown(limited(description))

/** A JSON object of anything, within JSON_LIMITS. */
export const FreeJsonObject = (description = 'Free-form JSON object') =>
  Type.Record(Type.String(), Type.Unknown(), limited(description))
