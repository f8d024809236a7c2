import { badRequest } from '../errors.js'
import type { Labels } from './snapshot.js'

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const DURATION = /^(\d{1,9})(ms|s|m|h|d)$/
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `k=v,k2=v2` → { k: 'v', k2: 'v2' }; a 400 naming the faulty part otherwise. */
export function parseLabelMatchers(text: string | undefined): Labels {
  const labels: Labels = {}
  if (text === undefined || text.trim() === '') return labels
  for (const part of text.split(',')) {
    const eq = part.indexOf('=')
    const name = (eq === -1 ? part : part.slice(0, eq)).trim()
    const value = eq === -1 ? '' : part.slice(eq + 1).trim()
    if (eq === -1 || !LABEL_NAME.test(name) || value === '') {
      throw badRequest(
        `labels must look like name=value,name2=value2 (names: letters, digits, _); "${part.trim()}" does not`,
        'invalid_labels',
      )
    }
    if (name in labels) throw badRequest(`labels names "${name}" more than once`, 'invalid_labels')
    labels[name] = value
  }
  return labels
}

/**
 * `since` as epoch milliseconds (1732147200000), an ISO 8601 time (2026-11-21T10:00:00Z) or a
 * duration back from now (90s, 15m, 1h). Undefined = everything held.
 */
export function parseSince(text: string | undefined, now: number): number | undefined {
  if (text === undefined || text.trim() === '') return undefined
  const value = text.trim()
  if (/^\d{1,15}$/.test(value)) return Number(value)
  const duration = DURATION.exec(value)
  if (duration) return now - Number(duration[1]) * UNIT_MS[duration[2]!]!
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const at = Date.parse(value)
    if (Number.isFinite(at)) return at
  }
  throw badRequest(
    `since must be epoch milliseconds, an ISO 8601 time or a duration such as 15m; got "${value}"`,
    'invalid_since',
  )
}
