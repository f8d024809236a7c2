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
  /** The OpenAI request as sent: its fields and its messages' parts beyond plain text. */
  openai?: { messages: Array<Record<string, unknown>>; fields: Record<string, unknown> } | undefined
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
    ...openAiIdentity(input.openai),
  })
}

/** Fields that never change an answer (who asks, what to keep of it). */
const NOT_IN_KEY = new Set(['user', 'metadata', 'store', 'safety_identifier', 'prompt_cache_key'])

/**
 * The rest of an OpenAI request, canonically (keys sorted): every forwarded field that can change
 * the answer (tools, tool_choice, response_format, n, logprobs, unknown ones …), and the messages
 * that are more than text (content parts, tool calls, tool results, names). Empty for a plain
 * text request, so that its key stays what it was.
 */
function openAiIdentity(openai: Parameters<typeof aiResponseIdentity>[0]['openai']): Record<string, unknown> {
  if (!openai) return {}
  const fields = Object.keys(openai.fields)
    .filter((name) => !NOT_IN_KEY.has(name) && openai.fields[name] !== undefined)
    .sort()
    .map((name) => [name, canonical(openai.fields[name])])
  const parts: Array<[number, unknown]> = []
  openai.messages.forEach((m, i) => {
    const { role: _role, content, ...rest } = m
    const textOnly = typeof content === 'string' || content === null || content === undefined
    const plainParts =
      Array.isArray(content) &&
      content.every((p) => (p as { type?: unknown })?.type === 'text' && Object.keys(p).length === 2)
    if (Object.keys(rest).length === 0 && (textOnly || plainParts)) return
    parts.push([i, canonical(textOnly || plainParts ? rest : { ...rest, content })])
  })
  return { ...(fields.length ? { fields } : {}), ...(parts.length ? { parts } : {}) }
}

/** A value with object keys sorted at every level, so that key order does not change the key. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
  )
}
