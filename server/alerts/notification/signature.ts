import { createHmac } from 'node:crypto'

/**
 * How deliveries to a receiver with a secret are signed: GitHub's `X-Signature-256` (HMAC of
 * the body alone), and the Standard Webhooks headers, whose signature also covers the message
 * id and the attempt's timestamp, so that a receiver can refuse replays.
 */

/** `sha256=<hex HMAC-SHA256 of the exact body bytes>`, keyed with the secret's UTF-8 bytes. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`
}

const WHSEC = 'whsec_'

/**
 * The Standard Webhooks HMAC key of a receiver secret: a `whsec_` secret (the specification's
 * own format) is base64 of the key; any other secret is used as its UTF-8 bytes, which a
 * verifier library takes as `whsec_` + base64(secret).
 */
export function standardWebhookKey(secret: string): Buffer {
  return secret.startsWith(WHSEC) ? Buffer.from(secret.slice(WHSEC.length), 'base64') : Buffer.from(secret, 'utf8')
}

/** Why a secret cannot be used (after "body/secret"), or null: a `whsec_` secret must be base64 of 24 to 64 bytes. */
export function signingSecretProblem(secret: string): string | null {
  if (!secret.startsWith(WHSEC)) return null
  const encoded = secret.slice(WHSEC.length)
  const key = Buffer.from(encoded, 'base64')
  if (key.length === 0 || key.toString('base64') !== encoded) return 'must be whsec_ and the base64 of its key'
  if (key.length < 24 || key.length > 64) return `must hold a key of 24 to 64 bytes after whsec_, not ${key.length}`
  return null
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
export function standardWebhookSignature(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', standardWebhookKey(secret))
  return `v1,${mac.update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64')}`
}

export interface StandardWebhookHeaders {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature': string
}

/** The three headers of one attempt: `id` stays the same across retries, the timestamp is the attempt's. */
export function standardWebhookHeaders(secret: string, id: string, now: number, body: string): StandardWebhookHeaders {
  const timestamp = Math.floor(now / 1000)
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': standardWebhookSignature(secret, id, timestamp, body),
  }
}
