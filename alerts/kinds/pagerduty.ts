import { alertLink, alertSummary, truncate, type Renderer } from './index-helpers.js'

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue'
const SEVERITIES = new Set(['critical', 'error', 'warning', 'info'])

/**
 * Events API v2: one event per alert, `dedup_key` its fingerprint, so that its resolve closes
 * the incident its trigger opened. The body is the list of events; the sender adds the
 * routing key to each and posts them one by one.
 */
export const renderPagerDuty: Renderer = (plan, { externalURL }) => {
  const events = plan.alerts.map((a) => {
    const link = { href: alertLink(externalURL, a.fingerprint), text: 'Open in chat-control-plane' }
    if (a.status === 'resolved') return { event_action: 'resolve', dedup_key: a.fingerprint }
    const severity = a.labels.severity ?? ''
    return {
      event_action: 'trigger',
      dedup_key: a.fingerprint,
      payload: {
        summary: truncate(alertSummary(a), 1024),
        source: a.labels.instance ?? 'chat-control-plane',
        severity: SEVERITIES.has(severity) ? severity : 'error',
        timestamp: new Date(a.startsAt).toISOString(),
        component: a.labels.alertname,
        custom_details: { labels: a.labels, annotations: a.annotations },
      },
      client: 'chat-control-plane',
      client_url: link.href,
      links: [link],
    }
  })
  return { url: plan.receiver.url, body: JSON.stringify(events) }
}
