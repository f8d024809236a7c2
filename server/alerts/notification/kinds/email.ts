import { badRequest } from '../../../errors.js'
import { refuseFields } from './http.js'
import type { ReceiverKindModule } from './types.js'

/** SMTP through nodemailer (smtp.ts): STARTTLS required unless turned off, auth when a username is set. */
export const emailKind: ReceiverKindModule = {
  validate(body, stored) {
    refuseFields(body, ['pagerduty', 'telegram', 'template', 'url'])
    const email = body.email
    if (!email) throw badRequest('body/email is required for an email receiver', 'validation_error')
    if (email.password && !email.username)
      throw badRequest('body/email/password needs body/email/username', 'validation_error')
    const host = email.host.replace(/^\[(.*)\]$/, '$1')
    const settings = {
      email: {
        to: email.to,
        from: email.from,
        host,
        port: email.port,
        starttls: email.starttls ?? true,
        username: email.username ?? null,
      },
    }
    const sameUser = stored?.kind === 'email' && stored.settings.email?.username === settings.email.username
    // A new username without a password drops the old one's password.
    const credential = email.password ?? (email.username ? (sameUser ? undefined : null) : null)
    const url = `smtp://${host.includes(':') ? `[${host}]` : host}:${email.port}`
    return { url, settings, credential }
  },
  send(d, t) {
    const email = d.receiver.settings.email
    if (!email)
      return Promise.resolve({ outcome: 'failed', statusCode: null, error: 'no email settings', retryAfterMs: null })
    const message = JSON.parse(d.body) as { subject: string; text: string }
    return t.smtp.send(email, d.credential, { ...message, messageId: d.idempotencyKey })
  },
}
