import { allMatch, type LabelMatcher, type Labels } from './labels.js'
import { groupKey, groupLabelsOf, type PayloadAlert } from './payload.js'
import { renderers, type ReceiverKind, type ReceiverSettings, type RenderedRequest } from './kinds/index.js'
import type { AlertNotification, AlertState } from './state.js'

/** Where notifications go and which ones it takes: what routing needs of a stored receiver. */
export interface Receiver {
  id: string
  name: string
  kind: ReceiverKind
  /** The body of a webhook: Alertmanager's webhook JSON or a Slack message. */
  format: 'alertmanager' | 'slack'
  /** Where it sends: the webhook or API URL; smtp://host:port for email. */
  url: string
  /** The kind's settings that are not secret. */
  settings: ReceiverSettings
  /** Empty: every severity. */
  severities: string[]
  matchers: LabelMatcher[]
  sendResolved: boolean
  groupBy: string[]
  /** How long a new group waits for more alerts before it is sent. */
  groupWaitMs: number
  enabled: boolean
}

/** One request-to-be: the alerts of one group for one receiver. */
export interface PlannedNotification {
  receiver: Receiver
  groupLabels: Labels
  groupKey: string
  /** firing, repeat, resolved (comma-joined when mixed), resend or test. */
  reason: string
  alerts: PayloadAlert[]
}

export { ALERTMANAGER_RESEND_MS, ALERTMANAGER_VALID_FOR_MS } from './kinds/alertmanager.js'

export function receiverAccepts(receiver: Receiver, alert: { labels: Labels; status: 'firing' | 'resolved' }): boolean {
  if (!receiver.enabled) return false
  if (alert.status === 'resolved' && !receiver.sendResolved) return false
  const severity = alert.labels.severity ?? ''
  if (receiver.severities.length > 0 && !receiver.severities.includes(severity)) return false
  return allMatch(receiver.matchers, alert.labels)
}

export function toPayloadAlert(n: AlertNotification): PayloadAlert {
  return {
    fingerprint: n.fingerprint,
    status: n.status,
    labels: n.labels,
    annotations: n.annotations,
    startsAt: n.startsAt,
    endsAt: n.endsAt,
  }
}

/** Splits an evaluation's notifications by receiver (its filters) and group (its group_by). */
export function planNotifications(
  notifications: readonly AlertNotification[],
  receivers: readonly Receiver[],
): PlannedNotification[] {
  const planned: PlannedNotification[] = []
  for (const receiver of receivers) {
    const groups = new Map<string, { labels: Labels; alerts: AlertNotification[] }>()
    for (const n of notifications) {
      if (!receiverAccepts(receiver, n)) continue
      const labels = groupLabelsOf(n.labels, receiver.groupBy)
      const key = groupKey(labels)
      const group = groups.get(key) ?? { labels, alerts: [] }
      group.alerts.push(n)
      groups.set(key, group)
    }
    for (const [key, group] of groups) {
      const reason = [...new Set(group.alerts.map((a) => a.reason))].sort().join(',')
      planned.push({
        receiver,
        groupLabels: group.labels,
        groupKey: key,
        reason,
        alerts: group.alerts.map(toPayloadAlert),
      })
    }
  }
  return planned
}

/**
 * Alertmanager receivers hear again about every firing alert they already know of, once a
 * resend interval, so that Alertmanager keeps them open (it resolves what it stops hearing of).
 */
export function planResends(
  states: readonly AlertState[],
  receiver: Receiver,
  skip: ReadonlySet<string>,
): PlannedNotification | null {
  const alerts = states
    .filter((s) => s.state === 'firing' && s.lastNotifiedAt !== null && !skip.has(s.fingerprint))
    .filter((s) => receiverAccepts(receiver, { labels: s.labels, status: 'firing' }))
    .map((s): PayloadAlert => ({
      fingerprint: s.fingerprint,
      status: 'firing',
      labels: s.labels,
      annotations: s.annotations,
      startsAt: s.firingSince ?? s.activeSince,
      endsAt: null,
    }))
  return alerts.length ? { receiver, groupLabels: {}, groupKey: groupKey({}), reason: 'resend', alerts } : null
}

/** The request a planned notification becomes: where it goes and the exact body (its kind's renderer). */
export function renderRequest(
  plan: Omit<PlannedNotification, 'groupKey' | 'reason'>,
  externalURL: string,
  now: number,
): RenderedRequest {
  return renderers[plan.receiver.kind](plan, { externalURL, now })
}
