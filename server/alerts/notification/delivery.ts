import { createHmac } from 'node:crypto'

export type DeliveryOutcome = 'delivered' | 'retry' | 'failed'

export interface DeliveryResult {
  outcome: DeliveryOutcome
  statusCode: number | null
  error: string | null
  /** From a Retry-After header (429, 503), when the receiver sent one. */
  retryAfterMs: number | null
}

export interface DeliveryRequest {
  url: string
  body: string
  idempotencyKey: string
  secret: string | null
}

/** `sha256=<hex HMAC-SHA256 of the exact body bytes>`, GitHub's webhook signature format. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`
}

/** 2xx delivered; 408, 429 and 5xx may pass later; any other answer will not change. */
export function classifyStatus(status: number): DeliveryOutcome {
  if (status >= 200 && status < 300) return 'delivered'
  if (status === 408 || status === 429 || status >= 500) return 'retry'
  return 'failed'
}

function retryAfterMs(header: string | null): number | null {
  if (!header) return null
  const seconds = Number(header)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
  return null
}

/** One POST of a notification. Never throws: every failure becomes a result. */
export async function postNotification(
  request: DeliveryRequest,
  options: { timeoutMs: number; userAgent: string },
): Promise<DeliveryResult> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': options.userAgent,
    'idempotency-key': request.idempotencyKey,
  }
  if (request.secret) headers['x-signature-256'] = signBody(request.body, request.secret)
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    })
    const outcome = classifyStatus(response.status)
    const text = outcome === 'delivered' ? (await response.body?.cancel(), '') : await response.text().catch(() => '')
    const error =
      outcome === 'delivered' ? null : `HTTP ${response.status}${text.trim() ? `: ${text.trim().slice(0, 200)}` : ''}`
    return {
      outcome,
      statusCode: response.status,
      error,
      retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
    }
  } catch (err) {
    return {
      outcome: 'retry',
      statusCode: null,
      error: describeNetworkError(err, options.timeoutMs),
      retryAfterMs: null,
    }
  }
}

function describeNetworkError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return `no answer within ${timeoutMs} ms`
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined
  if (cause?.code) return `network error: ${cause.code}${cause.message ? ` (${cause.message})` : ''}`
  return `network error: ${err instanceof Error ? err.message : String(err)}`
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
