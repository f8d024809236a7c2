import { SMTPServer } from 'smtp-server'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends } from '../../helpers/app.js'
import { receiverApi, useAlertingApp, useReceivers, waitFor } from '../../helpers/alerts.js'

/** A real SMTP server (smtp-server) that takes mail only after STARTTLS and a login. */
async function startSmtp(user: string, pass: string) {
  const messages: Array<{ raw: string; secure: boolean; user: string | undefined; to: string[] }> = []
  const server = new SMTPServer({
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, session, callback) {
      if (!session.secure) return callback(new Error('STARTTLS first'))
      if (auth.username === user && auth.password === pass) return callback(null, { user })
      return callback(new Error('Invalid username or password'))
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        messages.push({
          raw: Buffer.concat(chunks).toString('utf8'),
          secure: session.secure,
          user: session.user,
          to: session.envelope.rcptTo.map((r) => r.address),
        })
        callback()
      })
    },
    logger: false,
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.server.address() as AddressInfo).port
  return { port, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

describe.each(backends)('native notifiers ($name)', (backend) => {
  const alerting = useAlertingApp(backend, {
    env: {
      ALERT_RETRY_BASE_MS: '20',
      ALERT_RETRY_MAX_DELAY_MS: '100',
      ALERT_RETRY_WINDOW_S: '1',
      ALERT_DELIVERY_POLL_MS: '20',
      ALERT_SMTP_TLS_VERIFY: 'false',
    },
  })
  const { t, fire } = alerting
  const startReceiver = useReceivers()
  const only = (caseName: string) => [{ name: 'case', op: '=', value: caseName }]

  const { create } = receiverApi(t)
  const sendTest = async (id: string) =>
    (await t.request('POST', `/api/alerts/receivers/${id}/test`)).json().notification as Record<string, any>

  let smtp: Awaited<ReturnType<typeof startSmtp>>
  beforeAll(async () => {
    smtp = await startSmtp('alerts', 'smtp-password-1')
  })
  afterAll(() => smtp.close())

  it('email: sends over STARTTLS with a login; subject and body arrive; the password is write-only', async () => {
    const receiver = await create({
      name: 'mail',
      kind: 'email',
      matchers: only('mail'),
      email: {
        to: ['oncall@example.com'],
        from: 'ccp@example.com',
        host: '127.0.0.1',
        port: smtp.port,
        username: 'alerts',
        password: 'smtp-password-1',
      },
    })
    expect(receiver.email).toMatchObject({ host: '127.0.0.1', starttls: true, username: 'alerts', hasPassword: true })
    expect(JSON.stringify(receiver)).not.toContain('smtp-password-1')
    const notification = await sendTest(receiver.id)
    expect(notification).toMatchObject({ status: 'delivered', lastError: null })
    const [message] = smtp.messages
    expect(message).toMatchObject({ secure: true, user: 'alerts', to: ['oncall@example.com'] })
    expect(message!.raw).toMatch(/^Subject: \[FIRING:1\] TestNotification$/m)
    expect(message!.raw).toContain('Test notification from chat-control-plane')

    await fire('mail')
    await fire('mail', 0)
    await waitFor('firing and resolved mails', () => smtp.messages.length >= 3)
    expect(smtp.messages[2]!.raw).toMatch(/^Subject: \[RESOLVED\] TestHigh$/m)
  })

  it('email: a wrong password fails for good, with no server words in the error', async () => {
    const receiver = await create({
      name: 'mail-bad',
      kind: 'email',
      matchers: only('never'),
      email: {
        to: ['a@example.com'],
        from: 'b@example.com',
        host: '127.0.0.1',
        port: smtp.port,
        username: 'alerts',
        password: 'wrong',
      },
    })
    const notification = await sendTest(receiver.id)
    expect(notification.status).toBe('failed')
    expect(notification.lastError).toMatch(/^SMTP 535/)
  })

  it('pagerduty: Events API v2 trigger, then resolve with the same dedup_key; the routing key is write-only', async () => {
    const pd = await startReceiver()
    pd.respond = () => 202
    const receiver = await create({
      name: 'pd',
      kind: 'pagerduty',
      matchers: only('pd'),
      pagerduty: { routingKey: 'R0UT1NGKEY0123456789012345678901', url: `${pd.url}/v2/enqueue` },
    })
    expect(receiver.pagerduty).toEqual({ url: `${pd.url}/…`, hasRoutingKey: true })
    expect(JSON.stringify(receiver)).not.toContain('R0UT1NG')
    await fire('pd')
    await fire('pd', 0)
    await waitFor('trigger and resolve', () => pd.requests.length >= 2)
    const [trigger, resolve] = pd.requests.map((r) => r.json)
    expect(pd.requests.map((r) => r.path)).toEqual(['/v2/enqueue', '/v2/enqueue'])
    expect(trigger).toMatchObject({
      routing_key: 'R0UT1NGKEY0123456789012345678901',
      event_action: 'trigger',
      dedup_key: expect.stringMatching(/^[0-9a-f]{16}$/),
      payload: {
        summary: 'pd is at 5',
        severity: 'warning',
        source: expect.any(String),
        timestamp: expect.any(String),
      },
    })
    expect(resolve).toEqual({
      routing_key: 'R0UT1NGKEY0123456789012345678901',
      event_action: 'resolve',
      dedup_key: trigger.dedup_key,
    })
    expect(pd.requests[0]!.headers['x-signature-256']).toBeUndefined()
  })

  it('teams: a Workflows message carrying an Adaptive Card with its required fields', async () => {
    const hook = await startReceiver()
    const receiver = await create({
      name: 'teams',
      kind: 'teams',
      url: `${hook.url}/workflows/abc`,
      matchers: only('teams'),
    })
    expect((await sendTest(receiver.id)).status).toBe('delivered')
    const body = hook.requests[0]!.json
    expect(body.type).toBe('message')
    expect(body.attachments).toHaveLength(1)
    const [attachment] = body.attachments
    expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive')
    expect(attachment.content).toMatchObject({ type: 'AdaptiveCard', version: expect.stringMatching(/^1\.\d$/) })
    expect(attachment.content.$schema).toBe('http://adaptivecards.io/schemas/adaptive-card.json')
    expect(attachment.content.body.length).toBeGreaterThan(0)
    for (const element of attachment.content.body) expect(typeof element.type).toBe('string')
    expect(attachment.content.body[0]).toMatchObject({ type: 'TextBlock', text: '[FIRING:1] TestNotification' })
  })

  it('discord: embeds within Discord limits, mentions off', async () => {
    const hook = await startReceiver()
    hook.respond = () => 204
    const receiver = await create({
      name: 'discord',
      kind: 'discord',
      url: `${hook.url}/api/webhooks/1/x`,
      matchers: only('discord'),
    })
    expect((await sendTest(receiver.id)).status).toBe('delivered')
    const body = hook.requests[0]!.json
    expect(body.allowed_mentions).toEqual({ parse: [] })
    expect(body.embeds.length).toBeGreaterThan(0)
    expect(body.embeds.length).toBeLessThanOrEqual(10)
    let total = 0
    for (const embed of body.embeds) {
      expect(embed.title.length).toBeLessThanOrEqual(256)
      expect((embed.description ?? '').length).toBeLessThanOrEqual(4096)
      expect(embed.fields.length).toBeLessThanOrEqual(25)
      expect(Number.isInteger(embed.color)).toBe(true)
      expect(Number.isNaN(Date.parse(embed.timestamp))).toBe(false)
      total += embed.title.length + (embed.description ?? '').length
      for (const f of embed.fields) total += f.name.length + f.value.length
    }
    expect(total).toBeLessThanOrEqual(6000)
    expect(body.embeds[0].title).toBe('FIRING: Test notification from chat-control-plane')
  })

  it('telegram: sendMessage with chat_id and text at {apiUrl}/bot<token>/sendMessage; the token is write-only', async () => {
    const api = await startReceiver()
    const token = '123456:ABC-defGhi_jkl'
    const receiver = await create({
      name: 'tg',
      kind: 'telegram',
      matchers: only('tg'),
      telegram: { botToken: token, chatId: '-100123', apiUrl: api.url },
    })
    expect(receiver.telegram).toEqual({ chatId: '-100123', apiUrl: `${api.url}/`, hasBotToken: true })
    expect(JSON.stringify(receiver)).not.toContain('ABC-def')
    expect((await sendTest(receiver.id)).status).toBe('delivered')
    const [request] = api.requests
    expect(request!.path).toBe(`/bot${token}/sendMessage`)
    expect(request!.json).toMatchObject({ chat_id: '-100123', parse_mode: 'HTML' })
    expect(request!.json.text.length).toBeGreaterThan(0)
    expect(request!.json.text.length).toBeLessThanOrEqual(4096)
    expect(request!.json.text).toContain('<b>[FIRING:1] TestNotification</b>')
  })

  it('webhook template: renders the placeholders into the JSON body; an invalid template is a 400', async () => {
    for (const template of ['{"s": "{{ .Nope }}"}', '{"s": {{ .Status }}}', '{"s": "{{ .Status }"}']) {
      const res = await t.request('POST', '/api/alerts/receivers', {
        name: 'bad-tpl',
        url: 'http://127.0.0.1:9/x',
        template,
      })
      expect(res.statusCode, template).toBe(400)
      expect(res.json().error.message).toMatch(/^body\/template /)
    }
    const hook = await startReceiver()
    const receiver = await create({
      name: 'tpl',
      url: `${hook.url}/hook`,
      matchers: only('tpl'),
      template:
        '{"text": "{{ .Status }}: {{ .CommonLabels.alertname }} ({{ len .Alerts }})", "who": "{{ .Receiver }}", "alerts": {{ json .Alerts }}}',
    })
    expect(receiver.template).toContain('{{ .Status }}')
    await fire('tpl')
    await waitFor('templated body', () => hook.requests.length >= 1)
    const body = hook.requests[0]!.json
    expect(body).toMatchObject({ text: 'firing: TestHigh (1)', who: 'tpl' })
    expect(body.alerts[0]).toMatchObject({ status: 'firing', labels: { case: 'tpl' } })
  })

  it('refuses settings of another kind and a missing url', async () => {
    const noUrl = await t.request('POST', '/api/alerts/receivers', { name: 'no-url', kind: 'teams' })
    expect(noUrl.statusCode).toBe(400)
    expect(noUrl.json().error.message).toBe('body/url is required for a teams receiver')
    const mixed = await t.request('POST', '/api/alerts/receivers', {
      name: 'mixed',
      kind: 'pagerduty',
      pagerduty: { routingKey: 'k' },
      telegram: { botToken: '1:a', chatId: '1' },
    })
    expect(mixed.statusCode).toBe(400)
    const noKey = await t.request('POST', '/api/alerts/receivers', { name: 'no-key', kind: 'pagerduty', pagerduty: {} })
    expect(noKey.json().error.message).toBe('body/pagerduty/routingKey is required for a pagerduty receiver')
  })
})
