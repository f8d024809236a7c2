import { formatLabels, type Labels } from './labels.js'

/**
 * What receivers get: the Alertmanager webhook (version 4), a Slack-compatible `{ text }`,
 * and Alertmanager API v2 postable alerts (for fleets that route through an Alertmanager).
 * Times are epoch milliseconds in, RFC 3339 strings out.
 */
export interface PayloadAlert {
  fingerprint: string
  status: 'firing' | 'resolved'
  labels: Labels
  annotations: Record<string, string>
  startsAt: number
  /** null while firing. */
  endsAt: number | null
}

export interface WebhookAlert {
  status: 'firing' | 'resolved'
  labels: Labels
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL: string
  fingerprint: string
}

export interface AlertmanagerWebhook {
  version: '4'
  groupKey: string
  truncatedAlerts: number
  status: 'firing' | 'resolved'
  receiver: string
  groupLabels: Labels
  commonLabels: Labels
  commonAnnotations: Record<string, string>
  externalURL: string
  alerts: WebhookAlert[]
}

export interface PostableAlert {
  labels: Labels
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL: string
}

export interface NotificationGroup {
  receiver: string
  externalURL: string
  groupLabels: Labels
  alerts: readonly PayloadAlert[]
}

/** Alertmanager's "zero" time: what `endsAt` of a firing alert holds in its webhooks. */
export const ZERO_TIME = '0001-01-01T00:00:00Z'

const iso = (ms: number) => new Date(ms).toISOString()

/** Where a person sees the alert: the dashboard's alerts page, focused on this alert. */
export function alertLink(externalURL: string, fingerprint: string): string {
  return `${externalURL}/alerts?fingerprint=${fingerprint}`
}

/** The labels named in `groupBy`, from one alert of the group. */
export function groupLabelsOf(labels: Labels, groupBy: readonly string[]): Labels {
  return Object.fromEntries(groupBy.filter((name) => name in labels).map((name) => [name, labels[name]!]))
}

/** Alertmanager's form for a group of the root route: `{}:{alertname="X"}`. */
export function groupKey(groupLabels: Labels): string {
  return `{}:${formatLabels(groupLabels)}`
}

function common<T extends Record<string, string>>(maps: readonly T[]): Record<string, string> {
  const [first, ...rest] = maps
  if (!first) return {}
  return Object.fromEntries(Object.entries(first).filter(([k, v]) => rest.every((m) => m[k] === v)))
}

export function alertmanagerWebhook(group: NotificationGroup): AlertmanagerWebhook {
  return {
    version: '4',
    groupKey: groupKey(group.groupLabels),
    truncatedAlerts: 0,
    status: group.alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: group.receiver,
    groupLabels: group.groupLabels,
    commonLabels: common(group.alerts.map((a) => a.labels)),
    commonAnnotations: common(group.alerts.map((a) => a.annotations)),
    externalURL: group.externalURL,
    alerts: group.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: iso(a.startsAt),
      endsAt: a.endsAt === null ? ZERO_TIME : iso(a.endsAt),
      generatorURL: alertLink(group.externalURL, a.fingerprint),
      fingerprint: a.fingerprint,
    })),
  }
}

/** Incoming-webhook text in the shape of Alertmanager's default Slack title and list. */
export function slackMessage(group: NotificationGroup): { text: string } {
  const firing = group.alerts.filter((a) => a.status === 'firing').length
  const status = firing > 0 ? `FIRING:${firing}` : 'RESOLVED'
  const title = `[${status}] ${Object.values(group.groupLabels).join(' ') || 'alerts'}`
  const lines = group.alerts.map((a) => {
    const { alertname, severity, ...rest } = a.labels
    const summary = a.annotations.summary ?? alertname ?? 'alert'
    const details = Object.keys(rest).length ? ` ${formatLabels(rest)}` : ''
    const description = a.annotations.description ? `\n   ${a.annotations.description}` : ''
    return `• ${a.status === 'resolved' ? 'RESOLVED ' : ''}${severity ? `[${severity}] ` : ''}${summary}${details}${description}`
  })
  return { text: [title, ...lines, `<${group.externalURL}/alerts|Open the dashboard>`].join('\n') }
}

/**
 * Alertmanager API v2 (`POST /api/v2/alerts`) bodies. A firing alert is valid until
 * `now + validForMs`: if we stop re-sending it, Alertmanager resolves it by itself, as it does
 * for Prometheus.
 */
export function alertmanagerPostableAlerts(
  alerts: readonly PayloadAlert[],
  options: { externalURL: string; now: number; validForMs: number },
): PostableAlert[] {
  return alerts.map((a) => ({
    labels: a.labels,
    annotations: a.annotations,
    startsAt: iso(a.startsAt),
    endsAt: iso(a.endsAt ?? options.now + options.validForMs),
    generatorURL: alertLink(options.externalURL, a.fingerprint),
  }))
}
