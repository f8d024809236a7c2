import type { AlertRule, AlertRuleInput, Severity } from '../../../../alerts/rule.js'
import { formatSignalValue } from '../../lib/signal-units.js'

/** Wire shapes of the alerting API (server/alerts/routes/schemas.ts); times are ISO strings. */
export type { AlertRule, AlertRuleInput, Severity }

export interface Tab {
  id: string
  label: string
  /** A count shown next to the label (firing alerts, active silences); null hides it. */
  count?: number | null
}

export interface Matcher {
  name: string
  op: '=' | '!=' | '=~' | '!~'
  value: string
}

export interface ActiveAlert {
  fingerprint: string
  rule: string
  state: 'pending' | 'firing'
  severity: Severity
  value: number | null
  since: string
  firingSince: string | null
  labels: Record<string, string>
  annotations: Record<string, string>
  silenced: boolean
  silencedBy: string[]
  acknowledged: { by: string; at: string; comment: string } | null
  lastNotifiedAt: string | null
}

export interface AlertHistoryEvent {
  id: string
  at: string
  fingerprint: string
  rule: string
  severity: string
  from: string
  to: 'pending' | 'firing' | 'inactive' | 'resolved' | 'acknowledged'
  value: number | null
  labels: Record<string, string>
  annotations: Record<string, string>
  detail: Record<string, unknown> | null
}

export interface Silence {
  id: string
  matchers: Matcher[]
  startsAt: string
  endsAt: string
  status: 'pending' | 'active' | 'expired'
  createdBy: string
  comment: string
  createdAt: string
  updatedAt: string
}

export interface Receiver {
  id: string
  name: string
  kind: 'webhook' | 'alertmanager'
  format: 'alertmanager' | 'slack'
  url: string
  hasSecret: boolean
  severities: string[]
  matchers: Matcher[]
  sendResolved: boolean
  groupBy: string[]
  groupWait: string
  enabled: boolean
  source: 'env' | 'api'
  createdAt: string
  updatedAt: string
}

export interface Notification {
  id: string
  receiver: string
  receiverId: string | null
  reason: string
  groupKey: string
  status: 'pending' | 'delivered' | 'failed'
  attempts: number
  lastError: string | null
  lastStatusCode: number | null
  alerts: Array<{ fingerprint: string; alertname: string; status: string }>
  createdAt: string
  nextAttemptAt: string | null
  deliveredAt: string | null
}

export interface Backtest {
  from: string
  to: string
  evaluations: number
  signalFound: boolean
  firing: Array<{ fingerprint: string; labels: Record<string, string>; firedAt: string; resolvedAt: string | null }>
  transitions: Array<{ at: string; fingerprint: string; from: string; to: string; value: number | null }>
}

/** "alertname=HighCpu, severity=warning" */
export const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')

export const matcherText = (m: Matcher) => `${m.name}${m.op}${JSON.stringify(m.value)}`

export const SEVERITIES: Severity[] = ['info', 'warning', 'critical']

/** "system_memory_usage_ratio > 90.0 % for 5m", "avg over 5m of cache_hit_ratio{cache_type="x"} < 70 %". */
export function conditionText(rule: AlertRule): string {
  const matchers = Object.entries(rule.matchers ?? {})
  const signal = matchers.length ? `${rule.signal}{${matchers.map(([k, v]) => `${k}="${v}"`).join(', ')}}` : rule.signal
  const subject = rule.over ? `${rule.over.fn} over ${rule.over.window} of ${signal}` : signal
  const lasting = rule.for && rule.for !== '0s' ? ` for ${rule.for}` : ''
  return `${subject} ${rule.op} ${formatSignalValue(rule.signal, rule.threshold)}${lasting}`
}
