/**
 * What makes two chat requests the same request: the response cache keys replies by this
 * identity (its SHA-256), so it belongs to chat, and the cache stays generic.
 */

/** Trimmed, every run of whitespace one space: prompts that differ only in layout share a cache entry. */
export function normalizeText(text: string): string {
  return text.trim().replace(/\s+/g, ' ')
}

export interface KeyMessage {
  role: string
  content: string
}

/** Sampling parameters that change a completion; absent ones stay absent (a default is not the same key as an explicit value). */
export interface SamplingParams {
  temperature?: number
  top_p?: number
  max_tokens?: number
  stop?: string[]
  presence_penalty?: number
  frequency_penalty?: number
  seed?: number
}

const PARAM_ORDER: Array<keyof SamplingParams> = [
  'temperature',
  'top_p',
  'max_tokens',
  'stop',
  'presence_penalty',
  'frequency_penalty',
  'seed',
]

/**
 * The identity of a chat completion: whose it is (the caller's scope, unless CACHE_SCOPE=global
 * makes it null), provider, model, normalized messages and sampling parameters, serialized
 * canonically (fixed key order). The cache key is its SHA-256, so two scopes never share an
 * entry; a null scope keeps the identity of before tenancy (one shared cache).
 */
export function aiResponseIdentity(input: {
  scope: string | null
  provider: string
  model: string
  messages: KeyMessage[]
  params: SamplingParams
}): string {
  const params: Array<[string, unknown]> = []
  for (const name of PARAM_ORDER) {
    const value = input.params[name]
    if (value !== undefined) params.push([name, value])
  }
  return JSON.stringify({
    v: 1,
    ...(input.scope === null ? {} : { scope: input.scope }),
    provider: input.provider,
    model: input.model,
    messages: input.messages.map((m) => [m.role, normalizeText(m.content)]),
    params,
  })
}
