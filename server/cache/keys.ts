import { hash as digest } from 'node:crypto'
import { CACHE_NAMESPACES } from '../contract/cache.js'

/** The namespaces configured in `config.cache.ttlSeconds`; others are sub-namespaces of these (`ai_response:team-a`). */
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
