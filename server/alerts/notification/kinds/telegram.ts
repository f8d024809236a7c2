import { TELEGRAM_API_URL } from '../../../../alerts/kinds/telegram.js'
import { badRequest } from '../../../errors.js'
import { refuseFields } from './http.js'
import type { ReceiverKindModule } from './types.js'

/** Bot API sendMessage: POST {apiUrl}/bot<token>/sendMessage; the token (write-only) only joins the URL at send. */
export const telegramKind: ReceiverKindModule = {
  validate(body, stored) {
    refuseFields(body, ['email', 'pagerduty', 'template', 'url'])
    if (!body.telegram) throw badRequest('body/telegram is required for a telegram receiver', 'validation_error')
    const keepsToken = stored?.kind === 'telegram' && stored.credential !== null
    if (!body.telegram.botToken && !keepsToken)
      throw badRequest('body/telegram/botToken is required for a telegram receiver', 'validation_error')
    if (body.telegram.botToken && !/^[0-9]+:[A-Za-z0-9_-]+$/.test(body.telegram.botToken))
      throw badRequest('body/telegram/botToken must look like 123456:ABC-DEF… (from @BotFather)', 'validation_error')
    const url = body.telegram.apiUrl ?? (stored?.kind === 'telegram' ? stored.url : TELEGRAM_API_URL)
    return { url, settings: { telegram: { chatId: body.telegram.chatId } }, credential: body.telegram.botToken }
  },
  send(d, t) {
    const url = `${d.url.replace(/\/+$/, '')}/bot${d.credential ?? ''}/sendMessage`
    return t.http.post({ url, body: d.body, idempotencyKey: d.idempotencyKey, secret: null }, d.now)
  },
}
