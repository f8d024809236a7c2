import type { AlertRule } from '../../../server/contract/index.js'
import type { Labels } from '../../../server/contract/index.js'

export type Level = 'ok' | 'info' | 'warning' | 'critical'

/** The fields of a rule a tile needs to colour itself. */
export type ThresholdRule = Pick<AlertRule, 'signal' | 'op' | 'threshold' | 'severity'> & {
  matchers?: Labels
  enabled?: boolean
}

const RANK: Record<Level, number> = { ok: 0, info: 1, warning: 2, critical: 3 }

function holds(value: number, op: AlertRule['op'], threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold
    case '>=':
      return value >= threshold
    case '<':
      return value < threshold
    case '<=':
      return value <= threshold
    case '==':
      return value === threshold
    case '!=':
      return value !== threshold
  }
}

/**
 * How a tile showing `value` of `signal` should look under the alert rules: the severity of
 * the worst rule whose condition the value meets now, 'ok' when rules exist and none does,
 * null when no rule watches the signal (the tile stays neutral) or nothing is measured.
 */
export function levelFor(
  signal: string,
  labels: Labels,
  value: number | null,
  rules: readonly ThresholdRule[],
): Level | null {
  const watching = rules.filter(
    (r) =>
      r.enabled !== false && r.signal === signal && Object.entries(r.matchers ?? {}).every(([k, v]) => labels[k] === v),
  )
  if (!watching.length || value === null) return null
  let level: Level = 'ok'
  for (const rule of watching) {
    if (holds(value, rule.op, rule.threshold) && RANK[rule.severity] > RANK[level]) level = rule.severity
  }
  return level
}

/** "alerts above 80 %" style explanation of the thresholds watching a signal, for tooltips. */
export function describeThresholds(
  signal: string,
  rules: readonly ThresholdRule[],
  format: (n: number) => string,
): string | null {
  const watching = rules.filter((r) => r.enabled !== false && r.signal === signal)
  if (!watching.length) return null
  return watching.map((r) => `${r.severity} when ${r.op} ${format(r.threshold)}`).join('; ')
}
