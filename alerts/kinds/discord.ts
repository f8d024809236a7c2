import { alertLink, alertSummary, groupTitle, truncate, type Renderer } from './index-helpers.js'

/** Discord's limits: 10 embeds, title 256, description 4096, 25 fields of 256/1024, 6000 characters in all. */
export const DISCORD_LIMITS = {
  embeds: 10,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  total: 6000,
}
const RED = 0xd32f2f
const GREEN = 0x2e7d32

/** An execute-webhook body: one embed per alert (up to 10), within Discord's limits. */
export const renderDiscord: Renderer = (plan, { externalURL }) => {
  const L = DISCORD_LIMITS
  const shown = plan.alerts.slice(0, L.embeds)
  const perEmbed = Math.floor((L.total - 300) / Math.max(shown.length, 1))
  const embeds = shown.map((a) => {
    const title = truncate(`${a.status === 'resolved' ? 'RESOLVED' : 'FIRING'}: ${alertSummary(a)}`, L.title)
    const description = truncate(
      a.annotations.description ?? '',
      Math.min(L.description, Math.max(perEmbed - title.length - 200, 0)),
    )
    const fields = Object.entries(a.labels)
      .slice(0, 3)
      .map(([name, value]) => ({ name: truncate(name, 60), value: truncate(value || '-', 60), inline: true }))
    return {
      title,
      ...(description ? { description } : {}),
      url: alertLink(externalURL, a.fingerprint),
      color: a.status === 'resolved' ? GREEN : RED,
      timestamp: new Date(a.endsAt ?? a.startsAt).toISOString(),
      fields,
    }
  })
  const more = plan.alerts.length - shown.length
  const content = truncate(`${groupTitle(plan.alerts, plan.groupLabels)}${more > 0 ? ` (+${more} more)` : ''}`, 200)
  return { url: plan.receiver.url, body: JSON.stringify({ content, embeds, allowed_mentions: { parse: [] } }) }
}
