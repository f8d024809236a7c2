import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, type ErrorBody } from '../../errors.js'
import { databaseUnavailable, isDatabaseUnavailable } from '../db/errors.js'

/** Fastify's own client-error codes, mapped to ours with a message a person can act on. */
const fastifyCodes: Record<string, { code: string; message?: (err: FastifyError) => string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'invalid_json', message: (e) => `Malformed JSON body: ${e.message}` },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'invalid_json',
    message: () => 'Body is empty but Content-Type is application/json',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'body_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'bad_request' },
  FST_ERR_VALIDATION: { code: 'validation_error' },
}

function send(reply: FastifyReply, status: number, body: ErrorBody, headers: Record<string, string> = {}) {
  return reply
    .code(status)
    .headers(headers)
    .type('application/json; charset=utf-8')
    .send(errorBodyFor(reply.request.url, status, body))
}

/**
 * The one place an error body takes its shape: OpenAI's `{ error: { message, type, param,
 * code } }` on /v1 (OpenAI clients branch on type and code), ours everywhere else.
 */
export function errorBodyFor(url: string, status: number, body: ErrorBody): ErrorBody | OpenAiErrorBody {
  const { code, message, type, param, details, ...fields } = body.error
  if (!(url.startsWith('/v1/') || url === '/v1' || url.startsWith('/v1?')))
    return { error: { code, message, ...(details === undefined ? {} : { details }), ...fields } }
  return {
    error: {
      message,
      type: type ?? openAiType(status),
      param: param ?? paramOf(details) ?? null,
      code: OPENAI_CODES[code] ?? code,
      ...fields,
    },
  }
}

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string; upstreamStatus?: number }
}

/** Our generic codes as OpenAI's; the specific ones (context_length_exceeded, upstream_error, …) stay. */
const OPENAI_CODES: Record<string, string> = {
  validation_error: 'invalid_request_error',
  bad_request: 'invalid_request_error',
  invalid_json: 'invalid_request_error',
  unauthorized: 'invalid_api_key',
  rate_limited: 'rate_limit_exceeded',
}

function openAiType(status: number): string {
  if (status === 401) return 'authentication_error'
  if (status === 403) return 'permission_error'
  if (status === 404) return 'not_found_error'
  if (status === 429) return 'requests'
  if (status >= 500) return 'server_error'
  return 'invalid_request_error'
}

/** `body/messages/0/content` → `messages.0.content`: the field OpenAI's `param` names. */
function paramOf(details: unknown): string | undefined {
  const path = Array.isArray(details) ? (details[0] as { path?: unknown })?.path : undefined
  if (typeof path !== 'string' || !path.startsWith('body/')) return undefined
  return path.slice('body/'.length).replaceAll('/', '.') || undefined
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError | Error, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof AppError) {
      if (err.statusCode >= 500) request.log.warn({ err }, err.message)
      return send(
        reply,
        err.statusCode,
        { error: { code: err.code, message: err.message, ...err.fields } },
        err.headers,
      )
    }
    const fastifyError = err as FastifyError
    if (fastifyError.validation) {
      const details = fastifyError.validation.map((v) => ({
        path: `${fastifyError.validationContext ?? 'body'}${v.instancePath || ''}`,
        message: v.message ?? 'is invalid',
        ...(v.params && 'additionalProperty' in v.params ? { field: String(v.params.additionalProperty) } : {}),
      }))
      const message = details.map((d) => `${d.path} ${d.message}${d.field ? ` (${d.field})` : ''}`).join('; ')
      return send(reply, 400, { error: { code: 'validation_error', message, details } })
    }
    if (isDatabaseUnavailable(err)) {
      // Down, restarting or unreachable: a temporary condition the client should retry, not a 500.
      request.log.warn({ err }, 'database unavailable')
      const unavailable = databaseUnavailable()
      return send(reply, 503, { error: { code: unavailable.code, message: unavailable.message } }, unavailable.headers)
    }
    if (isPostgresDataException(err)) {
      // Class 22 (invalid text representation, numeric out of range, ...) is a bad value that
      // reached a query; a schema should have stopped it, but it is the client's input all the same.
      request.log.warn({ err }, 'a value the database rejected got past validation')
      return send(reply, 400, { error: { code: 'invalid_value', message: `Invalid value: ${err.message}` } })
    }
    const status = fastifyError.statusCode ?? 500
    if (status >= 400 && status < 500) {
      const known = fastifyError.code ? fastifyCodes[fastifyError.code] : undefined
      const code = known?.code ?? (status === 429 ? 'rate_limited' : (fastifyError.code ?? 'bad_request').toLowerCase())
      const message = known?.message?.(fastifyError) ?? fastifyError.message
      const headers: Record<string, string> = {}
      return send(reply, status, { error: { code, message } }, headers)
    }
    if (status === 503) {
      // Responses of a closing server: tell clients when to come back.
      return send(
        reply,
        503,
        { error: { code: 'service_unavailable', message: fastifyError.message || 'Service unavailable' } },
        { 'retry-after': '5' },
      )
    }
    request.log.error({ err }, 'request failed')
    return send(reply, 500, {
      error: { code: 'internal_error', message: 'Internal server error; the details are in the server log' },
    })
  })
}

/**
 * Fastify's `frameworkErrors`: errors its router answers before any route or error handler runs
 * (a path parameter over maxParamLength, a malformed percent-encoding). Without it they are
 * Fastify's own `{ error: 'Bad Request', code: 'FST_ERR_…' }` bodies echoing the path.
 */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') void send(reply, 414, URI_TOO_LONG)
  else if (err.code === 'FST_ERR_BAD_URL')
    void send(reply, 400, { error: { code: 'bad_url', message: 'The URL path is not validly percent-encoded' } })
  else
    void send(reply, err.statusCode ?? 400, { error: { code: 'bad_request', message: 'The request cannot be routed' } })
}

/** Fastify's default, which this module's messages state. */
export const MAX_PARAM_LENGTH = 100

const URI_TOO_LONG: ErrorBody = {
  error: { code: 'uri_too_long', message: `A path parameter is longer than ${MAX_PARAM_LENGTH} characters` },
}

/**
 * The 414 for an API path with a segment longer than MAX_PARAM_LENGTH. The router answers it
 * through frameworkErrors, unless a wildcard route (the dashboard's files) catches the path
 * first and it ends in the not-found handler: then this says the same.
 */
export function tooLongSegment(url: string): ErrorBody | null {
  const path = url.split('?')[0]!
  return isApiPath(path) && path.split('/').some((segment) => segment.length > MAX_PARAM_LENGTH) ? URI_TOO_LONG : null
}

function isPostgresDataException(err: unknown): err is Error & { code: string } {
  const e = err as { code?: unknown; severity?: unknown }
  return typeof e.code === 'string' && /^22[0-9A-Z]{3}$/.test(e.code) && typeof e.severity === 'string'
}

/** Paths the dashboard never owns: unknown ones there are JSON 404s, not the SPA page. */
export const API_PREFIXES = ['/api/', '/v1/', '/health/', '/metrics']

export function isApiPath(url: string): boolean {
  return API_PREFIXES.some((p) => url === p.replace(/\/$/, '') || url.startsWith(p))
}

export function notFoundBody(request: FastifyRequest): ErrorBody {
  return { error: { code: 'not_found', message: `Route ${request.method} ${request.url.split('?')[0]} not found` } }
}
