import { alertLink, alertLine, groupTitle, truncate, type Renderer } from './index-helpers.js'

export const TELEGRAM_API_URL = 'https://api.telegram.org'
/** sendMessage takes 1-4096 characters of text (after entities are parsed). */
export const TELEGRAM_TEXT_MAX = 4096

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Bot API sendMessage parameters (HTML parse mode); the sender puts the bot token in the path. */
export const renderTelegram: Renderer = (plan, { externalURL }) => {
  const chatId = plan.receiver.settings.telegram?.chatId ?? ''
  const lines = plan.alerts.map(
    (a) => `• <a href="${escapeHtml(alertLink(externalURL, a.fingerprint))}">${escapeHtml(alertLine(a))}</a>`,
  )
  let text = [`<b>${escapeHtml(groupTitle(plan.alerts, plan.groupLabels))}</b>`, ...lines].join('\n')
  // Cutting HTML could break a tag: past the limit, fall back to the title and a count.
  if (text.length > TELEGRAM_TEXT_MAX)
    text = truncate(
      `<b>${escapeHtml(groupTitle(plan.alerts, plan.groupLabels))}</b>\n${plan.alerts.length} alerts: ${externalURL}/alerts`,
      TELEGRAM_TEXT_MAX,
    )
  const body = { chat_id: chatId, text, parse_mode: 'HTML', link_preview_options: { is_disabled: true } }
  return { url: plan.receiver.url, body: JSON.stringify(body) }
}
