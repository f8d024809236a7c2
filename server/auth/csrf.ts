import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export interface CsrfOptions {
  /** PUBLIC_URL's origin (scheme, host, port): where the dashboard runs. */
  publicOrigin: string
  /**
   * PUBLIC_URL is a default guess (the variable is unset): also accept the origin the request
   * was sent to (Origin equals scheme://Host), so that a dashboard opened at localhost instead
   * of 127.0.0.1, or by the machine's name, keeps working.
   */
  acceptRequestOrigin: boolean
}

/**
 * Cross-site request protection for the dashboard cookie. The browser attaches the cookie to
 * any request for our host, whoever's page sends it, and SameSite=Strict only keeps other
 * *sites* out: another port on the same host (a Grafana beside us) or a sibling subdomain is
 * the same site. So a request the cookie authenticates must say it comes from our own page:
 * every unsafe method and the WebSocket upgrade need an `Origin` equal to PUBLIC_URL's origin
 * (or, without Origin, `Sec-Fetch-Site: same-origin`), else 403 `csrf_rejected`. Bearer
 * tokens are never sent by a browser on its own, so they are not checked.
 *
 * The text/plain body parser goes too: with it, a plain HTML form or a no-cors fetch (which
 * need no CORS preflight) could deliver a body our routes would read.
 */
export function registerCsrfProtection(app: FastifyInstance, options: CsrfOptions): void {
  app.removeContentTypeParser('text/plain')
  // After the auth hook (hooks run in the order they are added): it has set request.principal.
  app.addHook('onRequest', async (request) => {
    if (request.principal?.via !== 'session' || !needsCheck(request)) return
    if (!comesFromUs(request, options)) throw csrfRejected(request, options)
  })
}

function needsCheck(request: FastifyRequest): boolean {
  return !SAFE_METHODS.has(request.method) || request.headers.upgrade?.toLowerCase() === 'websocket'
}

function comesFromUs(request: FastifyRequest, options: CsrfOptions): boolean {
  const origin = request.headers.origin
  if (origin === undefined) return request.headers['sec-fetch-site'] === 'same-origin'
  const normalized = normalizeOrigin(origin)
  if (!normalized) return false
  if (normalized === options.publicOrigin) return true
  return options.acceptRequestOrigin && normalized === requestOrigin(request)
}

/** `scheme://host[:port]` as browsers serialise it (lower case, default port left out); null for "null" or junk. */
function normalizeOrigin(value: string): string | null {
  try {
    const origin = new URL(value).origin
    return origin === 'null' ? null : origin
  } catch {
    return null
  }
}

/** The origin the request was addressed to: its scheme and its Host header. */
function requestOrigin(request: FastifyRequest): string | null {
  const host = request.headers.host
  return host ? normalizeOrigin(`${request.protocol}://${host}`) : null
}

function csrfRejected(request: FastifyRequest, options: CsrfOptions): AppError {
  const origin = request.headers.origin
  const from = origin === undefined ? 'a request without an Origin header' : `Origin ${origin.slice(0, 200)}`
  return new AppError(
    403,
    'csrf_rejected',
    `Cross-site request refused: with the dashboard's session cookie, ${request.method === 'GET' ? 'the live feed' : 'changes'} must come from the dashboard at ${options.publicOrigin} (got ${from}). ` +
      'If you open the dashboard at another address, set PUBLIC_URL to it; scripts should send Authorization: Bearer <token> instead.',
  )
}
