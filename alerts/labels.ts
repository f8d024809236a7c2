/** Label sets, label matchers and alert fingerprints, shared by rules, silences and receivers. */
export type Labels = Record<string, string>

export type MatchOperator = '=' | '!=' | '=~' | '!~'

/** Alertmanager-style matcher; regexes are anchored at both ends, as Alertmanager does. */
export interface LabelMatcher {
  name: string
  op: MatchOperator
  value: string
}

export const LABEL_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$'

/** A regex matcher's compiled form, or null when the pattern does not compile. */
export function compileMatcherRegex(value: string): RegExp | null {
  try {
    return new RegExp(`^(?:${value})$`)
  } catch {
    return null
  }
}

export function matcherMatches(matcher: LabelMatcher, labels: Labels): boolean {
  // A missing label reads as the empty string, as in Prometheus and Alertmanager.
  const actual = labels[matcher.name] ?? ''
  switch (matcher.op) {
    case '=':
      return actual === matcher.value
    case '!=':
      return actual !== matcher.value
    case '=~':
      return compileMatcherRegex(matcher.value)?.test(actual) ?? false
    case '!~':
      return !(compileMatcherRegex(matcher.value)?.test(actual) ?? true)
  }
}

export function allMatch(matchers: readonly LabelMatcher[], labels: Labels): boolean {
  return matchers.every((m) => matcherMatches(m, labels))
}

/** True when `labels` has every name/value pair of `subset`. */
export function includesLabels(labels: Labels, subset: Labels | undefined): boolean {
  if (!subset) return true
  return Object.entries(subset).every(([name, value]) => labels[name] === value)
}

export function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k])
}

export function sortLabels(labels: Labels): Labels {
  return Object.fromEntries(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]!]),
  )
}

/** `{a="1", b="2"}`, sorted, as Prometheus and Alertmanager print label sets. */
export function formatLabels(labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
  return `{${parts.join(', ')}}`
}

const FNV_OFFSET = 0xcbf29ce484222325n
const FNV_PRIME = 0x100000001b3n
const MASK_64 = 0xffffffffffffffffn
const SEPARATOR = 0xff

/**
 * Alertmanager's fingerprint: FNV-1a 64 over the sorted label names and values, each followed
 * by a 0xff separator, printed as 16 hex digits. The same labels give the same fingerprint here
 * and in an Alertmanager that receives our alerts.
 */
export function fingerprint(labels: Labels): string {
  let hash = FNV_OFFSET
  const add = (byte: number) => {
    hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK_64
  }
  const encoder = new TextEncoder()
  for (const name of Object.keys(labels).sort()) {
    for (const byte of encoder.encode(name)) add(byte)
    add(SEPARATOR)
    for (const byte of encoder.encode(labels[name]!)) add(byte)
    add(SEPARATOR)
  }
  return hash.toString(16).padStart(16, '0')
}
