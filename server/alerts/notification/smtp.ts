import { isIP } from 'node:net'
import type { ReceiverSettings } from '../../../alerts/kinds/types.js'
import { failed, type DeliveryResult } from './delivery.js'
import { ReceiverAddressRefused, refusalReason, type ReceiverAddressPolicy } from './receiver-address.js'

type EmailSettings = NonNullable<ReceiverSettings['email']>

/**
 * Sends mail over SMTP with nodemailer (loaded by the first email). The server's name is
 * resolved through the receiver address policy and the connection made to the checked
 * address (the name stays the TLS server name), as for HTTP receivers.
 */
export class SmtpSender {
  constructor(private readonly options: { policy: ReceiverAddressPolicy; timeoutMs: number; tlsVerify: boolean }) {}

  async send(
    email: EmailSettings,
    password: string | null,
    message: { subject: string; text: string; messageId: string },
  ): Promise<DeliveryResult> {
    const { policy, timeoutMs, tlsVerify } = this.options
    let address: string
    try {
      const early = policy.refusalWithoutDns(email.host)
      if (early) return failed(refusalReason(early))
      address = isIP(email.host) ? email.host : (await policy.resolveChecked(email.host))[0]!.address
    } catch (err) {
      if (err instanceof ReceiverAddressRefused) return failed(refusalReason(err.refusal))
      return {
        outcome: 'retry',
        statusCode: null,
        error: `network error: ${codeOf(err) ?? 'ENOTFOUND'}`,
        retryAfterMs: null,
      }
    }
    const { createTransport } = await import('nodemailer')
    const transport = createTransport({
      host: address,
      port: email.port,
      secure: email.port === 465,
      requireTLS: email.starttls && email.port !== 465,
      ignoreTLS: !email.starttls && email.port !== 465,
      auth: email.username ? { user: email.username, pass: password ?? '' } : undefined,
      tls: { servername: isIP(email.host) ? undefined : email.host, rejectUnauthorized: tlsVerify },
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      logger: false,
      debug: false,
    })
    try {
      await transport.sendMail({
        from: email.from,
        to: email.to,
        subject: message.subject,
        text: message.text,
        messageId: `<${message.messageId}@chat-control-plane>`,
      })
      return { outcome: 'delivered', statusCode: null, error: null, retryAfterMs: null }
    } catch (err) {
      return classifySmtpError(err)
    } finally {
      transport.close()
    }
  }
}

function codeOf(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? code : null
}

/** SMTP 4xx may pass later, 5xx will not; a refused login is for good; network trouble is retried. Never the server's words. */
export function classifySmtpError(err: unknown): DeliveryResult {
  const responseCode = (err as { responseCode?: unknown } | null)?.responseCode
  const code = codeOf(err)
  if (typeof responseCode === 'number') {
    const error = `SMTP ${responseCode}${code ? ` (${code})` : ''}`
    return { outcome: responseCode >= 500 ? 'failed' : 'retry', statusCode: null, error, retryAfterMs: null }
  }
  if (code === 'EAUTH' || code === 'EENVELOPE') return failed(`SMTP error: ${code}`)
  return { outcome: 'retry', statusCode: null, error: `network error: ${code ?? 'unknown'}`, retryAfterMs: null }
}
