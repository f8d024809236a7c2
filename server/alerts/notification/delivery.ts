import { STATUS_CODES } from 'node:http'
import type { Agent, request as undiciRequest } from 'undici'
import { ReceiverAddressRefused, refusalReason, type ReceiverAddressPolicy } from './receiver-address.js'
import { signBody, standardWebhookHeaders } from './signature.js'

export type DeliveryOutcome = 'delivered' | 'retry' | 'failed'

export interface DeliveryResult {
  outcome: DeliveryOutcome
  statusCode: number | null
  /** Ours only (a status and its standard reason, an error code): never text the receiver sent. */
  error: string | null
  /** From a Retry-After header (429, 503), when the receiver sent one. */
  retryAfterMs: number | null
}

export interface DeliveryRequest {
  url: string
  body: string
  idempotencyKey: string
  secret: string | null
  /** Headers of the kind (they do not replace ours). */
  headers?: Record<string, string>
}

/** 2xx delivered; 408, 429 and 5xx may pass later; any other answer will not change. */
export function classifyStatus(status: number): DeliveryOutcome {
  if (status >= 200 && status < 300) return 'delivered'
  if (status === 408 || status === 429 || status >= 500) return 'retry'
  return 'failed'
}

function retryAfterMs(header: string | string[] | undefined): number | null {
  const value = Array.isArray(header) ? header[0] : header
  if (!value) return null
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
  return null
}

/** `HTTP 503 Service Unavailable`: the status and its standard reason phrase, not the receiver's words. */
export function describeStatus(status: number): string {
  const phrase = STATUS_CODES[status]
  return phrase ? `HTTP ${status} ${phrase}` : `HTTP ${status}`
}

export const failed = (error: string): DeliveryResult => ({
  outcome: 'failed',
  statusCode: null,
  error,
  retryAfterMs: null,
})

/**
 * Posts notifications. Every connection resolves its host through the address policy and
 * connects only to the addresses it checked; literal addresses are checked before connecting.
 */
export class WebhookSender {
  /** undici (~110 modules) is loaded by the first delivery, not at start. */
  private client: Promise<{ agent: Agent; send: typeof undiciRequest }> | null = null

  constructor(private readonly options: { policy: ReceiverAddressPolicy; timeoutMs: number; userAgent: string }) {}

  private connect() {
    this.client ??= import('undici').then(({ Agent, request }) => ({
      agent: new Agent({ connect: { lookup: this.options.policy.lookup, timeout: this.options.timeoutMs } }),
      send: request,
    }))
    return this.client
  }

  /** One POST of a notification at `now`. Never throws: every failure becomes a result. */
  async post(request: DeliveryRequest, now: number): Promise<DeliveryResult> {
    const { policy, timeoutMs, userAgent } = this.options
    let url: URL
    try {
      url = new URL(request.url)
    } catch {
      return failed('the receiver URL is not a valid URL')
    }
    const refusal = policy.refusalWithoutDns(url.hostname)
    if (refusal) return failed(refusalReason(refusal))
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': userAgent,
      'idempotency-key': request.idempotencyKey,
    }
    if (url.username || url.password) {
      const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
      headers.authorization = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`
      url.username = ''
      url.password = ''
    }
    Object.assign(headers, request.headers, { ...headers })
    if (request.secret) {
      headers['x-signature-256'] = signBody(request.body, request.secret)
      Object.assign(headers, standardWebhookHeaders(request.secret, request.idempotencyKey, now, request.body))
    }
    try {
      const { agent, send } = await this.connect()
      const response = await send(url, {
        dispatcher: agent,
        method: 'POST',
        headers,
        body: request.body,
        signal: AbortSignal.timeout(timeoutMs),
      })
      // What the receiver wrote is never kept: it may be anything the target answers.
      await response.body.dump().catch(() => undefined)
      const outcome = classifyStatus(response.statusCode)
      return {
        outcome,
        statusCode: response.statusCode,
        error: outcome === 'delivered' ? null : describeStatus(response.statusCode),
        retryAfterMs: retryAfterMs(response.headers['retry-after']),
      }
    } catch (err) {
      const refused = refusedBy(err)
      if (refused) return failed(refusalReason(refused.refusal))
      return { outcome: 'retry', statusCode: null, error: describeNetworkError(err, timeoutMs), retryAfterMs: null }
    }
  }

  async close(): Promise<void> {
    if (this.client) await (await this.client).agent.close()
  }
}

function refusedBy(err: unknown): ReceiverAddressRefused | null {
  if (err instanceof ReceiverAddressRefused) return err
  const cause = err instanceof Error ? err.cause : undefined
  return cause instanceof ReceiverAddressRefused ? cause : null
}

/** A code (ECONNREFUSED, UND_ERR_SOCKET…), never an error message: those can quote the peer (TLS names). */
function describeNetworkError(err: unknown, timeoutMs: number): string {
  const error = err as { name?: string; code?: unknown; cause?: { code?: unknown } } | null
  if (error?.name === 'TimeoutError' || error?.name === 'AbortError' || error?.code === 'UND_ERR_ABORTED')
    return `no answer within ${timeoutMs} ms`
  const code = typeof error?.code === 'string' ? error.code : error?.cause?.code
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? `network error: ${code}` : 'network error'
}

/** Exponential backoff: base, 2×base, 4×base… capped; a longer Retry-After wins (still capped). */
export function retryDelayMs(
  attempts: number,
  settings: { retryBaseMs: number; retryMaxDelayMs: number },
  retryAfter: number | null = null,
): number {
  const exponential = settings.retryBaseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30)
  return Math.min(Math.max(exponential, retryAfter ?? 0), settings.retryMaxDelayMs)
}
