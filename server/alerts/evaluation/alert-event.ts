import type { Severity } from '../../../alerts/rule.js'
import type { Transition, TransitionTarget } from '../../../alerts/state.js'

/**
 * What `app.events` 'alert' carries (and the live hub forwards to dashboards): one
 * transition of one alert, or an acknowledgement. Times are ISO 8601.
 */
export interface AlertEvent {
  fingerprint: string
  rule: string
  severity: Severity
  labels: Record<string, string>
  annotations: Record<string, string>
  from: 'inactive' | 'pending' | 'firing'
  to: TransitionTarget | 'acknowledged'
  value: number | null
  at: string
  /** Acknowledgements: who and why. */
  by?: string
  comment?: string
}

export function toEvent(t: Transition): AlertEvent {
  return {
    fingerprint: t.fingerprint,
    rule: t.rule,
    severity: t.severity,
    labels: t.labels,
    annotations: t.annotations,
    from: t.from,
    to: t.to,
    value: t.value,
    at: new Date(t.at).toISOString(),
  }
}
