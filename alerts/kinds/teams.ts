import { alertLink, alertLine, groupTitle, truncate, type Renderer } from './index-helpers.js'

/**
 * A Teams Workflows webhook ("Post to a channel when a webhook request is received") takes a
 * message whose attachment is an Adaptive Card (schema 1.4: what Teams renders).
 */
export const renderTeams: Renderer = (plan, { externalURL }) => {
  const firing = plan.alerts.some((a) => a.status === 'firing')
  const card = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body: [
      {
        type: 'TextBlock',
        text: groupTitle(plan.alerts, plan.groupLabels),
        weight: 'Bolder',
        size: 'Medium',
        color: firing ? 'Attention' : 'Good',
        wrap: true,
      },
      ...plan.alerts.slice(0, 20).map((a) => ({
        type: 'TextBlock',
        text: truncate(`${alertLine(a)}${a.annotations.description ? `\n${a.annotations.description}` : ''}`, 2000),
        wrap: true,
      })),
      {
        type: 'FactSet',
        facts: Object.entries(plan.groupLabels).map(([title, value]) => ({ title, value })),
      },
    ],
    actions: [
      {
        type: 'Action.OpenUrl',
        title: 'Open the dashboard',
        url: plan.alerts.length === 1 ? alertLink(externalURL, plan.alerts[0]!.fingerprint) : `${externalURL}/alerts`,
      },
    ],
  }
  const message = {
    type: 'message',
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }],
  }
  return { url: plan.receiver.url, body: JSON.stringify(message) }
}
