import { alertLink, type PayloadAlert } from '../payload.js'
import type { Labels } from '../labels.js'

/** The words the chat and mail kinds share: a title for the group and one line per alert. */
export function groupTitle(alerts: readonly PayloadAlert[], groupLabels: Labels): string {
  const firing = alerts.filter((a) => a.status === 'firing').length
  const status = firing > 0 ? `FIRING:${firing}` : 'RESOLVED'
  return `[${status}] ${Object.values(groupLabels).join(' ') || 'alerts'}`
}

export function alertSummary(alert: PayloadAlert): string {
  return alert.annotations.summary ?? alert.labels.alertname ?? 'alert'
}

export function alertLine(alert: PayloadAlert): string {
  const severity = alert.labels.severity ? `[${alert.labels.severity}] ` : ''
  return `${alert.status === 'resolved' ? 'RESOLVED ' : ''}${severity}${alertSummary(alert)}`
}

export { alertLink }

/** Cuts text to `max` characters, marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
