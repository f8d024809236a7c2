/**
 * Durations in rules are written the Prometheus way (`30s`, `5m`, `1h30m`, `0s`) so that
 * the PromQL mirror of the rules can copy them unchanged.
 */
export const DURATION_PATTERN = '^(0|([0-9]+(ms|s|m|h|d))+)$'

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Milliseconds in a duration string, or null when it is not one. */
export function parseDuration(text: string): number | null {
  if (!new RegExp(DURATION_PATTERN).test(text)) return null
  if (text === '0') return 0
  let total = 0
  for (const [, amount, unit] of text.matchAll(/([0-9]+)(ms|s|m|h|d)/g)) total += Number(amount) * UNIT_MS[unit!]!
  return total
}

/** Like parseDuration, for values already validated by the rule schema. */
export function durationMs(text: string | undefined, fallbackMs = 0): number {
  if (text === undefined) return fallbackMs
  const ms = parseDuration(text)
  if (ms === null) throw new Error(`Not a duration: ${JSON.stringify(text)}`)
  return ms
}

/** The shortest duration string for `ms` (`90000` → `1m30s`), the inverse of parseDuration. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s'
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
    ['ms', 1],
  ]
  let rest = ms
  let text = ''
  for (const [unit, size] of units) {
    const amount = Math.floor(rest / size)
    if (amount > 0) text += `${amount}${unit}`
    rest -= amount * size
  }
  return text
}
