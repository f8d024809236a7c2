import { formatDuration } from '../../../alerts/duration.js'
import type { PayloadAlert } from '../../../alerts/payload.js'
import { silencesCovering, type Silence } from '../../../alerts/silence.js'
import type { AlertState } from '../../../alerts/state.js'
import type { AlertEventRow } from '../evaluation/history-repository.js'
import type { OutboxRow } from '../notification/outbox-repository.js'
import type { ReceiverRow } from '../notification/receiver-repository.js'
import { silenceStatus, type SilenceRow } from '../evaluation/silence-repository.js'

/** Rows and engine states → the wire shapes of routes/schemas.ts. */
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

export function alertView(state: AlertState, silences: readonly Silence[], now: number) {
  const silencedBy = silencesCovering(state.labels, silences, now)
  return {
    fingerprint: state.fingerprint,
    rule: state.rule,
    state: state.state,
    severity: state.severity,
    value: state.value,
    since: iso(state.activeSince)!,
    firingSince: iso(state.firingSince),
    labels: state.labels,
    annotations: state.annotations,
    silenced: silencedBy.length > 0,
    silencedBy,
    acknowledged: state.ack ? { by: state.ack.by, at: iso(state.ack.at)!, comment: state.ack.comment } : null,
    lastNotifiedAt: iso(state.lastNotifiedAt),
  }
}

export function alertEventView(row: AlertEventRow) {
  return {
    id: row.id,
    at: row.at,
    fingerprint: row.fingerprint,
    rule: row.rule_name,
    severity: row.severity,
    from: row.from_state,
    to: row.to_state,
    value: row.value,
    labels: row.labels,
    annotations: row.annotations,
    detail: row.detail,
  }
}

export function silenceView(row: SilenceRow, now: number) {
  return {
    id: row.id,
    matchers: row.matchers,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    status: silenceStatus(row, now),
    createdBy: row.created_by,
    comment: row.comment,
    timeLeft: Math.max(0, row.ends_at.getTime() - now),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

const MASK = '…'

/**
 * What reads show of a receiver URL: scheme and host. The path, query and credentials are
 * write-only, like the signing secret: Slack, Discord and Teams webhook URLs carry their
 * secret in the path. `https://hooks.slack.com/…`; `http://am:9093/` when nothing is hidden.
 */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url)
    const hides = parsed.pathname !== '/' || parsed.search || parsed.hash || parsed.username || parsed.password
    return `${parsed.protocol}//${parsed.host}/${hides ? MASK : ''}`
  } catch {
    return MASK
  }
}

/** Whether a URL is what maskUrl shows of another (sent back as if it were the URL itself). */
export function isMaskedUrl(url: string): boolean {
  try {
    const parsed = new URL(url)
    return decodeURIComponent(parsed.pathname) === `/${MASK}` && !parsed.search
  } catch {
    return false
  }
}

/** Per-kind settings as reads show them: secrets only as has…, URLs masked. */
function kindView(row: ReceiverRow) {
  const { email, telegram, template } = row.settings
  const has = row.credential !== null
  return {
    email: row.kind === 'email' && email ? { ...email, hasPassword: has } : null,
    pagerduty: row.kind === 'pagerduty' ? { url: maskUrl(row.url), hasRoutingKey: has } : null,
    telegram: row.kind === 'telegram' && telegram ? { ...telegram, apiUrl: maskUrl(row.url), hasBotToken: has } : null,
    template: row.kind === 'webhook' ? (template ?? null) : null,
  }
}

export function receiverView(row: ReceiverRow, names: ReadonlyMap<string, string> = new Map()) {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    format: row.format,
    ...kindView(row),
    fallback: row.fallback_id ? (names.get(row.fallback_id) ?? null) : null,
    url: row.kind === 'email' ? row.url : maskUrl(row.url),
    hasSecret: row.secret !== null,
    severities: row.severities,
    matchers: row.matchers,
    sendResolved: row.send_resolved,
    groupBy: row.group_by,
    groupWait: formatDuration(row.group_wait_ms),
    enabled: row.enabled,
    source: row.source,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function notificationView(row: OutboxRow) {
  const alerts = row.alerts as unknown as PayloadAlert[]
  return {
    id: row.id,
    receiver: row.receiver_name,
    receiverId: row.receiver_id,
    reason: row.reason,
    groupKey: row.group_key,
    status: row.status,
    windowId: row.window_id,
    attempts: row.attempts,
    lastError: row.last_error,
    lastStatusCode: row.last_status_code,
    alerts: alerts.map((a) => ({ fingerprint: a.fingerprint, alertname: a.labels.alertname ?? '', status: a.status })),
    createdAt: row.created_at,
    nextAttemptAt: row.status === 'pending' ? row.next_attempt_at : null,
    deliveredAt: row.delivered_at,
    fallbackFor: row.fallback_for,
  }
}
