/**
 * Coded errors. Routes and services throw these; the one error handler in app.ts turns
 * them into `{ error: { code, message } }` with their status. Anything else is a 500
 * whose details go to the log only.
 */
export class AppError extends Error {
  override name = 'AppError'
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** More fields of the error body, next to code and message (`upstreamStatus`). */
    readonly fields: ErrorFields = {},
  ) {
    super(message)
  }
}

export const badRequest = (message: string, code = 'bad_request', param?: string) =>
  new AppError(400, code, message, {}, param === undefined ? {} : { param })
export const unauthorized = (message = 'Authentication required: send Authorization: Bearer <token> or sign in') =>
  new AppError(401, 'unauthorized', message)
export const forbidden = (message: string) => new AppError(403, 'forbidden', message)
export const notFound = (what: string) => new AppError(404, 'not_found', `${what} not found`)
export const conflict = (message: string, code = 'conflict') => new AppError(409, code, message)
export const tooManyRequests = (message: string, retryAfterSeconds: number) =>
  new AppError(429, 'rate_limited', message, { 'retry-after': String(retryAfterSeconds) })
export const serviceUnavailable = (message: string, retryAfterSeconds = 5) =>
  new AppError(503, 'service_unavailable', message, { 'retry-after': String(retryAfterSeconds) })
/** The upstream failed; `upstreamStatus` is the HTTP status it answered with, when it answered with one. */
export const badGateway = (message: string, upstreamStatus?: number) =>
  new AppError(502, 'upstream_error', message, {}, upstreamStatus === undefined ? {} : { upstreamStatus })
export const gatewayTimeout = (message: string) => new AppError(504, 'upstream_timeout', message)

export interface ErrorFields {
  upstreamStatus?: number
  /** On /v1 (OpenAI's shape) only: the error's `type` ("requests", "tokens") and the request field at fault. */
  type?: string
  param?: string
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown } & ErrorFields
}
