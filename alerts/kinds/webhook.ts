import { alertmanagerWebhook, slackMessage, type NotificationGroup } from '../payload.js'
import { renderBodyTemplate } from './body-template.js'
import type { RenderPlan, Renderer } from './types.js'

export function notificationGroup(plan: RenderPlan, externalURL: string): NotificationGroup {
  return { receiver: plan.receiver.name, externalURL, groupLabels: plan.groupLabels, alerts: plan.alerts }
}

/** Alertmanager's webhook JSON, a Slack `{ text }`, or the receiver's own body template over the former. */
export const renderWebhook: Renderer = (plan, { externalURL }) => {
  const group = notificationGroup(plan, externalURL)
  const { template } = plan.receiver.settings
  if (template) return { url: plan.receiver.url, body: renderBodyTemplate(template, alertmanagerWebhook(group)) }
  return {
    url: plan.receiver.url,
    body: JSON.stringify(plan.receiver.format === 'slack' ? slackMessage(group) : alertmanagerWebhook(group)),
  }
}
