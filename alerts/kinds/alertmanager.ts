import { alertmanagerPostableAlerts } from '../payload.js'
import type { Renderer } from './types.js'

/** Alertmanager drops a firing alert it has not heard of for 4 resend intervals, as with Prometheus. */
export const ALERTMANAGER_RESEND_MS = 60_000
export const ALERTMANAGER_VALID_FOR_MS = 4 * ALERTMANAGER_RESEND_MS

/** API v2 postable alerts, POSTed to {url}/api/v2/alerts. */
export const renderAlertmanager: Renderer = (plan, { externalURL, now }) => {
  const alerts = alertmanagerPostableAlerts(plan.alerts, { externalURL, now, validForMs: ALERTMANAGER_VALID_FOR_MS })
  return { url: `${plan.receiver.url.replace(/\/+$/, '')}/api/v2/alerts`, body: JSON.stringify(alerts) }
}
