import { hash as digest } from 'node:crypto'

/** The namespaces configured in `config.cache.ttlSeconds`; others are sub-namespaces of these (`ai_response:team-a`). */
import { CACHE_NAMESPACES } from '../contract/cache.js'

export { CACHE_NAMESPACES }
export type BaseNamespace = (typeof CACHE_NAMESPACES)[number]

/** `base` or `base:sub`; the sub part is what a request's `cache.namespace` adds. */
export const NAMESPACE_PATTERN = `^(${CACHE_NAMESPACES.join('|')})(:[A-Za-z0-9_.-]{1,64})?$`
const namespaceRegex = new RegExp(NAMESPACE_PATTERN)

export function isNamespace(value: string): boolean {
  return namespaceRegex.test(value)
}

/** The configured namespace a (sub-)namespace belongs to: its TTL, its metrics label, its stats line. */
export function baseNamespace(namespace: string): BaseNamespace {
  const base = namespace.split(':', 1)[0] as BaseNamespace
  if (!CACHE_NAMESPACES.includes(base)) throw new Error(`unknown cache namespace ${namespace}`)
  return base
}

export function sha256Hex(text: string): string {
  // One-shot: about half the cost of createHash().update().digest() for short inputs.
  return digest('sha256', text, 'hex')
}

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
 * The identity of a chat completion: provider, model, normalized messages and sampling
 * parameters, serialized canonically (fixed key order). The cache key is its SHA-256.
 */
export function aiResponseIdentity(input: {
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
    provider: input.provider,
    model: input.model,
    messages: input.messages.map((m) => [m.role, normalizeText(m.content)]),
    params,
  })
}
