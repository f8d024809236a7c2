import type { Static } from '@sinclair/typebox'
import type { SamplingParams } from './identity.js'
import type { CacheControlBody } from '../contract/chat.js'
import type { CacheControl } from './service.js'

/** The body's `cache` object and the Cache-Control header together: either one can turn reading or storing off. */
export function cacheControl(
  header: string | string[] | undefined,
  body: Static<typeof CacheControlBody> | undefined,
): CacheControl {
  // The common case, on the hot path: neither says anything.
  if (header === undefined && body === undefined)
    return { noCache: false, noStore: false, ttl: undefined, namespace: undefined }
  const directives = new Set(
    [header ?? []]
      .flat()
      .join(',')
      .split(',')
      .map((d) => d.trim().toLowerCase()),
  )
  return {
    noCache: body?.['no-cache'] === true || directives.has('no-cache'),
    noStore: body?.['no-store'] === true || directives.has('no-store'),
    ttl: body?.ttl,
    namespace: body?.namespace,
  }
}

export function cacheHeaders(info: {
  cached: boolean
  cacheKey: string
  upstream?: string | null
}): Record<string, string> {
  const headers: Record<string, string> = { 'x-cache': info.cached ? 'HIT' : 'MISS', 'x-cache-key': info.cacheKey }
  // Which pool upstream answered (none for a reply from the cache).
  if (info.upstream) headers['x-upstream'] = info.upstream
  return headers
}

/** The sampling parameters of a request, `max_completion_tokens` read as `max_tokens` and `stop` always a list. */
export function samplingParams(body: {
  temperature?: number
  top_p?: number
  max_tokens?: number
  max_completion_tokens?: number
  presence_penalty?: number
  frequency_penalty?: number
  seed?: number
  stop?: string | string[] | null
}): SamplingParams {
  const params: SamplingParams = {}
  if (body.temperature !== undefined) params.temperature = body.temperature
  if (body.top_p !== undefined) params.top_p = body.top_p
  const maxTokens = body.max_completion_tokens ?? body.max_tokens
  if (maxTokens !== undefined) params.max_tokens = maxTokens
  if (body.presence_penalty !== undefined) params.presence_penalty = body.presence_penalty
  if (body.frequency_penalty !== undefined) params.frequency_penalty = body.frequency_penalty
  if (body.seed !== undefined) params.seed = body.seed
  const stop = (typeof body.stop === 'string' ? [body.stop] : (body.stop ?? [])).filter((s) => s !== '')
  if (stop.length) params.stop = stop
  return params
}
