import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReceiverAddressPolicy, type Resolve } from '../../../server/alerts/notification/receiver-address.js'
import { WebhookSender } from '../../../server/alerts/notification/delivery.js'
import { webhookReceiver } from '../../../server/alerts/notification/receiver-repository.js'
import { backends, createTestApp, embedded } from '../../helpers/app.js'
import { startReceiver, useAlertingApp, useReceivers, waitFor, type TestReceiver } from '../../helpers/alerts.js'

/** A path that carries a webhook's secret, the way Slack, Discord and Teams URLs do. */
const SECRET_PATH = '/services/T0000/B0000/Xq9SecretPathTokenZ7'
const REMOTE_BODY = 'REMOTE-BODY-d41d8cd9: internal stack trace, host db-7.internal:5432'

const receiverDefaults = { matchers: [{ name: 'case', op: '=', value: 'never-fired' }] }

describe.each(backends)('receiver URLs, addresses and signatures ($name)', (backend) => {
  const alerting = useAlertingApp(backend, {
    env: { ALERT_RETRY_BASE_MS: '20', ALERT_RETRY_MAX_DELAY_MS: '50', ALERT_DELIVERY_POLL_MS: '20' },
  })
  const { t } = alerting
  const startReceiver = useReceivers()
  let viewer: string
  beforeAll(async () => {
    viewer = (await t.app.tokens.create({ name: 'receiver-viewer', role: 'viewer', createdBy: 'test' })).secret
  })

  async function create(body: Record<string, unknown>) {
    return t.request('POST', '/api/alerts/receivers', { ...receiverDefaults, ...body })
  }

  it('shows viewers and admins scheme and host only: the path, query and credentials stay write-only', async () => {
    const receiver = await startReceiver()
    const full = `http://hook-user:hook-pass@127.0.0.1:${receiver.port}${SECRET_PATH}?token=q-secret`
    const created = await create({ name: 'masked', url: full })
    expect(created.statusCode).toBe(201)
    const { id, url } = created.json().receiver
    expect(url).toBe(`http://127.0.0.1:${receiver.port}/…`)

    const slack = await create({ name: 'slack-like', url: `https://hooks.slack.com${SECRET_PATH}`, format: 'slack' })
    expect(slack.statusCode).toBe(201)
    expect(slack.json().receiver.url).toBe('https://hooks.slack.com/…')
    const bare = await create({ name: 'bare', url: `http://127.0.0.1:${receiver.port}` })
    expect(bare.json().receiver.url).toBe(`http://127.0.0.1:${receiver.port}/`)

    const reads = [
      created,
      slack,
      await t.request('GET', '/api/alerts/receivers'),
      await t.request('GET', '/api/alerts/receivers', undefined, { token: viewer }),
      await t.request('GET', `/api/alerts/receivers/${id}`, undefined, { token: viewer }),
      await t.request('GET', `/api/alerts/receivers/${id}`),
      await t.request('POST', `/api/alerts/receivers/${id}/test`),
      await t.request('GET', '/api/alerts/notifications?receiver=masked', undefined, { token: viewer }),
      await t.request('GET', '/api/audit?limit=50'),
    ]
    for (const read of reads) {
      expect(read.statusCode, read.body).toBeLessThan(300)
      for (const secret of ['Xq9SecretPathTokenZ7', '/services/', 'q-secret', 'hook-user', 'hook-pass'])
        expect(read.body, `${secret} in ${read.body}`).not.toContain(secret)
    }
    expect(receiver.requests.map((r) => r.path)).toEqual([`${SECRET_PATH}?token=q-secret`])
    // Credentials in the URL go as Basic authorization, not in the request line.
    expect(receiver.requests[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from('hook-user:hook-pass').toString('base64')}`,
    )
  })

  it('keeps the stored URL when an update omits it, and refuses the masked form as a new URL', async () => {
    const receiver = await startReceiver()
    const created = await create({ name: 'kept-url', url: `http://127.0.0.1:${receiver.port}${SECRET_PATH}` })
    const { id, url } = created.json().receiver
    const updated = await t.request('PUT', `/api/alerts/receivers/${id}`, {
      name: 'kept-url',
      groupWait: '5s',
      ...receiverDefaults,
    })
    expect(updated.statusCode, updated.body).toBe(200)
    expect(updated.json().receiver).toMatchObject({ url, groupWait: '5s' })
    await t.request('POST', `/api/alerts/receivers/${id}/test`)
    expect(receiver.requests.map((r) => r.path)).toEqual([SECRET_PATH])

    const roundTripped = await t.request('PUT', `/api/alerts/receivers/${id}`, { name: 'kept-url', url })
    expect(roundTripped.statusCode).toBe(400)
    expect(roundTripped.json().error.message).toMatch(/^body\/url is the masked form.*omit url to keep/)

    const other = await startReceiver()
    const replaced = await t.request('PUT', `/api/alerts/receivers/${id}`, {
      name: 'kept-url',
      url: `http://127.0.0.1:${other.port}/new-path`,
    })
    expect(replaced.statusCode).toBe(200)
    await t.request('POST', `/api/alerts/receivers/${id}/test`)
    expect(other.requests.map((r) => r.path)).toEqual(['/new-path'])
    expect((await create({ name: 'no-url' })).statusCode).toBe(400)
  })

  it('always refuses link-local and cloud metadata targets, naming the field and the reason', async () => {
    for (const [url, reason] of [
      ['http://169.254.169.254/latest/meta-data/iam/', 'a cloud metadata address'],
      ['http://[fd00:ec2::254]/latest/', 'a cloud metadata address'],
      ['http://[::ffff:169.254.169.254]/', 'a cloud metadata address'],
      ['http://0xa9fea9fe/', 'a cloud metadata address'],
      ['http://metadata.google.internal/computeMetadata/v1/', 'a cloud metadata address'],
      ['http://[fe80::1]:9093/', 'a link-local address'],
      ['http://169.254.10.10/', 'a link-local address'],
    ]) {
      const res = await create({ name: 'metadata', url })
      expect(res.statusCode, url).toBe(400)
      expect(res.json().error.message, url).toMatch(new RegExp(`^body/url names .*${reason}`))
    }
  })

  it('accepts loopback and LAN receivers by default (ALERT_RECEIVER_ALLOW_PRIVATE=true)', async () => {
    const receiver = await startReceiver()
    for (const [name, host] of [
      ['loopback-v6', '[::1]'],
      ['loopback-hex', '0x7f000001'],
      ['loopback-name', 'localhost'],
      ['lan', '10.20.30.40'],
    ] as const) {
      const res = await create({ name, url: `http://${host}:${receiver.port}/hook` })
      expect(res.statusCode, `${host}: ${res.body}`).toBe(201)
    }
  })

  it('keeps only the status and a reason of ours in lastError, never what the receiver answered', async () => {
    const receiver = await startReceiver()
    receiver.respond = () => 500
    receiver.replyBody = REMOTE_BODY
    const { id } = (await create({ name: 'talkative', url: `${receiver.url}/hook` })).json().receiver
    const res = await t.request('POST', `/api/alerts/receivers/${id}/test`)
    expect(res.json().notification).toMatchObject({
      status: 'pending',
      lastStatusCode: 500,
      lastError: 'HTTP 500 Internal Server Error',
    })
    receiver.respond = () => 404
    const refused = await t.request('POST', `/api/alerts/receivers/${id}/test`)
    expect(refused.json().notification).toMatchObject({ status: 'failed', lastError: 'HTTP 404 Not Found' })
    await waitFor('the retried notification', async () => receiver.requests.length >= 3)
    for (const read of [
      await t.request('GET', '/api/alerts/notifications?receiver=talkative', undefined, { token: viewer }),
      await t.request('GET', '/api/audit?action=alert_receiver.test&limit=10'),
    ])
      expect(read.body).not.toContain('REMOTE-BODY')
  })

  it('signs deliveries with Standard Webhooks headers next to X-Signature-256; the id is the same on every retry', async () => {
    const receiver = await startReceiver()
    receiver.respond = (index) => (index === 0 ? 503 : 200)
    const secret = 'receiver-secret-value-123'
    const { id } = (await create({ name: 'signed', url: `${receiver.url}/hook`, secret })).json().receiver
    await t.request('POST', `/api/alerts/receivers/${id}/test`)
    await waitFor('the retried delivery', () => receiver.requests.length >= 2)
    const verifier = new Webhook(`whsec_${Buffer.from(secret).toString('base64')}`)
    const [first, second] = receiver.requests
    for (const request of [first!, second!]) {
      expect(request.headers['webhook-id']).toBe(request.idempotencyKey)
      expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/)
      expect(request.headers['x-signature-256']).toMatch(/^sha256=[0-9a-f]{64}$/)
      expect(verifier.verify(request.body, request.headers as Record<string, string>)).toEqual(request.json)
    }
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id'])

    const whsec = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
    const other = await startReceiver()
    const created = (await create({ name: 'signed-whsec', url: other.url, secret: whsec })).json().receiver
    await t.request('POST', `/api/alerts/receivers/${created.id}/test`)
    const [delivered] = other.requests
    expect(new Webhook(whsec).verify(delivered!.body, delivered!.headers as Record<string, string>)).toEqual(
      delivered!.json,
    )
    const unsigned = await startReceiver()
    const plain = (await create({ name: 'unsigned', url: unsigned.url })).json().receiver
    await t.request('POST', `/api/alerts/receivers/${plain.id}/test`)
    expect(Object.keys(unsigned.requests[0]!.headers).filter((h) => h.startsWith('webhook-'))).toEqual([])
    expect((await create({ name: 'bad-whsec', url: other.url, secret: 'whsec_short' })).json().error.message).toMatch(
      /^body\/secret/,
    )
  })
})

describe.each(backends)('receivers with ALERT_RECEIVER_ALLOW_PRIVATE=false ($name)', (backend) => {
  const { t } = useAlertingApp(backend, { env: { ALERT_RECEIVER_ALLOW_PRIVATE: 'false' } })
  const startReceiver = useReceivers()

  it('refuses loopback, private and unspecified hosts at save, in any notation', async () => {
    for (const [url, reason] of [
      ['http://127.0.0.1:9093/', 'a loopback address'],
      ['http://[::1]:9093/', 'a loopback address'],
      ['http://0x7f000001/', 'a loopback address'],
      ['http://2130706433/', 'a loopback address'],
      ['http://0177.0.0.1/', 'a loopback address'],
      ['http://[::ffff:127.0.0.1]/', 'a loopback address'],
      ['http://localhost:9093/', 'localhost, which resolves to 127.0.0.1, a loopback address'],
      ['http://10.1.2.3/', 'a private address'],
      ['http://192.168.0.10/', 'a private address'],
      ['http://[fd12::1]/', 'a private address'],
      ['http://100.64.1.1/', 'a private address'],
      ['http://0.0.0.0/', 'the unspecified address'],
      ['http://169.254.169.254/', 'a cloud metadata address'],
    ] as const) {
      const res = await t.request('POST', '/api/alerts/receivers', { name: 'private', url })
      expect(res.statusCode, url).toBe(400)
      const { message } = res.json().error
      expect(message, url).toMatch(/^body\/url names /)
      expect(message, url).toContain(reason)
      if (!reason.includes('metadata')) expect(message, url).toContain('ALERT_RECEIVER_ALLOW_PRIVATE=false')
    }
  })

  it('fails a stored receiver whose host is now refused at send, without connecting to it', async () => {
    const receiver = await startReceiver()
    // Saved before the policy changed (the repository takes it as an earlier start with ALLOW_PRIVATE=true did).
    for (const [name, host] of [
      ['earlier-literal', '127.0.0.1'],
      ['earlier-name', 'localhost'],
    ] as const) {
      const row = await t.app.alerts.receivers.create(
        webhookReceiver({ name, format: 'alertmanager', url: `http://${host}:${receiver.port}/hook` }),
        null,
      )
      const res = await t.request('POST', `/api/alerts/receivers/${row!.id}/test`)
      expect(res.json().notification, host).toMatchObject({
        status: 'failed',
        attempts: 1,
        lastStatusCode: null,
        lastError: `refused by the receiver address policy: ${host === 'localhost' ? 'the host resolves to' : 'the host is'} a loopback address (ALERT_RECEIVER_ALLOW_PRIVATE=false)`,
      })
    }
    expect(receiver.connections).toBe(0)
    expect(receiver.requests).toEqual([])
  })
})

describe('ALERT_WEBHOOK_SECRET', () => {
  it('stops the start when a whsec_ secret is not base64 of a 24 to 64 byte key', async () => {
    await expect(
      createTestApp(embedded, {
        env: { ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/hook', ALERT_WEBHOOK_SECRET: 'whsec_abc' },
      }),
    ).rejects.toThrow(/^ALERT_WEBHOOK_SECRET must/)
  })
})

describe('webhook sender', () => {
  let receiver: TestReceiver
  beforeAll(async () => {
    receiver = await startReceiver()
  })
  afterAll(() => receiver.close())

  const request = (url: string) => ({ url, body: '{}', idempotencyKey: 'k-1', secret: null })

  it('connects to the address it checked: the name is resolved once per connection, by the policy', async () => {
    const calls: string[] = []
    const answers = [['127.0.0.1'], ['169.254.169.254']]
    const resolve: Resolve = async (hostname) => {
      calls.push(hostname)
      return (answers[calls.length - 1] ?? []).map((address) => ({ address, family: 4 }))
    }
    const sender = new WebhookSender({
      policy: new ReceiverAddressPolicy({ allowPrivate: true, resolve }),
      timeoutMs: 2000,
      userAgent: 'test',
    })
    try {
      // The name exists only in this resolver: the request reaches the receiver only through it.
      const delivered = await sender.post(request(`http://rebinding.invalid:${receiver.port}/first`), Date.now())
      expect(delivered).toMatchObject({ outcome: 'delivered', statusCode: 200 })
      expect(receiver.requests.map((r) => r.path)).toEqual(['/first'])
      expect(calls).toEqual(['rebinding.invalid'])

      // The name now points at the metadata service: a new connection is refused before it is made.
      const before = receiver.connections
      const refused = await sender.post(request(`http://rebinding.invalid:${receiver.port + 1}/second`), Date.now())
      expect(refused).toEqual({
        outcome: 'failed',
        statusCode: null,
        error: 'refused by the receiver address policy: the host resolves to a cloud metadata address',
        retryAfterMs: null,
      })
      expect(calls).toHaveLength(2)
      expect(receiver.connections).toBe(before)
    } finally {
      await sender.close()
    }
  })
})
