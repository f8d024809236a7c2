import type { AlertRule, MatcherInput, Severity } from '../../../../server/contract/index.js'
import { formatSignalValue } from '../../lib/signal-units.js'

/** "alertname=HighCpu, severity=warning" */
export const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')

/** The labels a person did not already read in the rule name and severity columns. */
export const extraLabels = (labels: Record<string, string>) =>
  Object.fromEntries(Object.entries(labels).filter(([k]) => k !== 'alertname' && k !== 'severity'))

export const matcherText = (m: MatcherInput) => `${m.name}${m.op}${JSON.stringify(m.value)}`

export const SEVERITIES: Severity[] = ['info', 'warning', 'critical']

/** "system_memory_usage_ratio > 90.0 % for 5m", "avg over 5m of cache_hit_ratio{cache_type="x"} < 70 %". */
export function conditionText(rule: AlertRule): string {
  const matchers = Object.entries(rule.matchers ?? {})
  const signal = matchers.length ? `${rule.signal}{${matchers.map(([k, v]) => `${k}="${v}"`).join(', ')}}` : rule.signal
  const subject = rule.over ? `${rule.over.fn} over ${rule.over.window} of ${signal}` : signal
  const lasting = rule.for && rule.for !== '0s' ? ` for ${rule.for}` : ''
  return `${subject} ${rule.op} ${formatSignalValue(rule.signal, rule.threshold)}${lasting}`
}
