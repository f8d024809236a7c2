import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import {
  signingSecretProblem,
  standardWebhookHeaders,
  standardWebhookSignature,
} from '../../../server/alerts/notification/signature.js'

/**
 * Standard Webhooks signatures. The expected values were computed outside this code
 * (`openssl dgst -sha256 -hmac … -binary | base64`); the first is the specification's own
 * example, the second the one README shows.
 */
describe('Standard Webhooks signature', () => {
  it('matches the published test vector for a whsec_ secret (key = base64 decode of the rest)', () => {
    expect(
      standardWebhookSignature(
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265330,
        '{"test": 2432232314}',
      ),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=')
  })

  it('matches README’s vector for any other secret (key = its UTF-8 bytes)', () => {
    expect(
      standardWebhookSignature(
        'receiver-secret-value-123',
        '3f2c7a1e-5b9d-4c8e-a1f0-6d2b8e4c9a17',
        1767225600,
        '{"version":"4","status":"firing"}',
      ),
    ).toBe('v1,IAd/YWFIz9VTERtogl+U/gsudYaY7H4Q03iBW0eAzAc=')
  })

  it('gives headers that the standardwebhooks library verifies, with either kind of secret', () => {
    const body = '{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"Ünïcode"}}]}'
    const now = Date.now()
    const plain = 'a plain secret, ünïcode too'
    const headers = standardWebhookHeaders(plain, 'b1c2d3e4-0000-4000-8000-000000000001', now, body)
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(now / 1000)))
    expect(new Webhook(`whsec_${Buffer.from(plain, 'utf8').toString('base64')}`).verify(body, headers)).toEqual(
      JSON.parse(body),
    )
    const whsec = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
    expect(new Webhook(whsec).verify(body, standardWebhookHeaders(whsec, 'id-1', now, body))).toEqual(JSON.parse(body))
    expect(() => new Webhook(whsec).verify(`${body} `, standardWebhookHeaders(whsec, 'id-1', now, body))).toThrow()
  })

  it('refuses a whsec_ secret that is not base64 of 24 to 64 bytes', () => {
    expect(signingSecretProblem('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).toBeNull()
    expect(signingSecretProblem('any other secret')).toBeNull()
    expect(signingSecretProblem('whsec_not base64!')).toMatch(/base64/)
    expect(signingSecretProblem(`whsec_${Buffer.alloc(8).toString('base64')}`)).toMatch(/24 to 64 bytes/)
  })
})
