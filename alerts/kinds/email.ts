import { alertLink, alertLine, groupTitle, type Renderer } from './index-helpers.js'

/** The message: subject and plain text (the SMTP sender adds from/to and the transport). */
export const renderEmail: Renderer = (plan, { externalURL }) => {
  const subject = groupTitle(plan.alerts, plan.groupLabels)
  const lines = plan.alerts.flatMap((a) => [
    `- ${alertLine(a)}`,
    ...Object.entries(a.labels).map(([k, v]) => `    ${k}=${v}`),
    ...(a.annotations.description ? [`    ${a.annotations.description}`] : []),
    `    ${alertLink(externalURL, a.fingerprint)}`,
  ])
  const text = [subject, '', ...lines, '', `Open the dashboard: ${externalURL}/alerts`].join('\n')
  return { url: plan.receiver.url, body: JSON.stringify({ subject, text }) }
}
