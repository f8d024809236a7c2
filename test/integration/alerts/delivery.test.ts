import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { backends } from '../../helpers/app.js'
import { useAlertingApp, useReceivers, waitFor } from '../../helpers/alerts.js'

/**
 * Delivery to a real local HTTP receiver. Each case fires the test rule for its own `case`
 * label and gives its receiver a matcher on that label, so that cases do not see each other.
 */
describe.each(backends)('alert delivery ($name)', (backend) => {
  const alerting = useAlertingApp(backend, {
    env: {
      ALERT_RETRY_BASE_MS: '20',
      ALERT_RETRY_MAX_DELAY_MS: '100',
      ALERT_RETRY_WINDOW_S: '3',
      ALERT_DELIVERY_POLL_MS: '20',
    },
  })
  const { t, fire, tick } = alerting
  const startReceiver = useReceivers()

  async function receiverFor(caseName: string, body: Record<string, unknown> = {}) {
    const receiver = await startReceiver()
    const res = await t.request('POST', '/api/alerts/receivers', {
      name: caseName,
      url: receiver.url,
      matchers: [{ name: 'case', op: '=', value: caseName }],
      ...body,
    })
    expect(res.statusCode).toBe(201)
    return { receiver, id: res.json().receiver.id as string }
  }

  async function notificationsOf(caseName: string) {
    return (await t.request('GET', `/api/alerts/notifications?receiver=${caseName}`)).json().notifications as Array<
      Record<string, any>
    >
  }

  /** The case's first notification, once it has `status`. */
  function notificationOnce(caseName: string, status: string, what: string) {
    return waitFor(what, async () => {
      const [first] = await notificationsOf(caseName)
      return first?.status === status && first
    })
  }

  it('retries after 5xx until the receiver takes it, with the same body, idempotency key and a valid signature', async () => {
    const secret = 'shared-secret-for-signing'
    const { receiver } = await receiverFor('retry', { secret })
    receiver.respond = (index) => (index < 2 ? 503 : 200)
    await fire('retry')

    const notification = await notificationOnce('retry', 'delivered', 'delivery after two 503s')
    expect(notification).toMatchObject({
      status: 'delivered',
      attempts: 3,
      lastError: null,
      lastStatusCode: 200,
      reason: 'firing',
    })
    expect(notification.alerts).toEqual([{ fingerprint: expect.any(String), alertname: 'TestHigh', status: 'firing' }])
    expect(receiver.requests.map((r) => r.status)).toEqual([503, 503, 200])

    const [first, , last] = receiver.requests
    expect(last!.body).toBe(first!.body)
    expect(last!.headers['idempotency-key']).toBe(first!.headers['idempotency-key'])
    expect(first!.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/)
    const expected = `sha256=${createHmac('sha256', secret).update(last!.body).digest('hex')}`
    expect(last!.headers['x-signature-256']).toBe(expected)
    expect(last!.json).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'retry',
      groupLabels: { alertname: 'TestHigh' },
    })
    expect(last!.json.alerts[0]).toMatchObject({
      status: 'firing',
      labels: { alertname: 'TestHigh', case: 'retry', severity: 'warning' },
      annotations: { summary: 'retry is at 5' },
      endsAt: '0001-01-01T00:00:00Z',
    })

    await t.app.alerts.worker.idle()
    const counts = await t.app.metrics.alertNotificationsTotal.get()
    const count = (status: string) =>
      counts.values.find((v) => v.labels.receiver === 'retry' && v.labels.status === status)?.value
    expect([count('retry'), count('delivered')]).toEqual([2, 1])
  })

  it('records a 4xx other than 408/429 as failed for good, without retrying', async () => {
    const { receiver } = await receiverFor('refused')
    receiver.respond = () => 400
    await fire('refused')
    const notification = await notificationOnce('refused', 'failed', 'the failure')
    expect(notification).toMatchObject({ attempts: 1, lastStatusCode: 400, lastError: 'HTTP 400 Bad Request' })
    expect(receiver.requests).toHaveLength(1)
    expect(receiver.requests[0]!.headers['x-signature-256']).toBeUndefined()
  })

  it('retries on 429 and 408 as on 5xx', async () => {
    const { receiver } = await receiverFor('throttled')
    receiver.respond = (index) => [429, 408, 200][index] ?? 200
    await fire('throttled')
    await notificationOnce('throttled', 'delivered', 'delivery')
    expect(receiver.requests.map((r) => r.status)).toEqual([429, 408, 200])
  })

  it('retries a receiver that does not listen, and delivers once it does', async () => {
    const probe = await startReceiver()
    const port = probe.port
    await probe.close()
    const res = await t.request('POST', '/api/alerts/receivers', {
      name: 'down',
      url: `http://127.0.0.1:${port}/hook`,
      matchers: [{ name: 'case', op: '=', value: 'down' }],
    })
    expect(res.statusCode).toBe(201)
    await fire('down')
    const [pending] = await waitFor('a failed attempt', async () => {
      const list = await notificationsOf('down')
      return list[0]?.attempts >= 1 && list
    })
    expect(pending).toMatchObject({ status: 'pending' })
    expect(pending!.lastError).toContain('ECONNREFUSED')

    const receiver = await startReceiver(port)
    await notificationOnce('down', 'delivered', 'delivery once the receiver listens')
    expect(receiver.requests[0]!.path).toBe('/hook')
  })

  it('gives up after the retry window and says so', async () => {
    const { receiver } = await receiverFor('gone')
    receiver.respond = () => 500
    await fire('gone')
    const notification = await notificationOnce('gone', 'failed', 'giving up')
    expect(notification.lastError).toMatch(/^gave up after \d+ attempts: HTTP 500/)
    expect(notification.attempts).toBe(receiver.requests.length)
  })

  it('sends the resolution, Slack text and Alertmanager API v2 alerts to receivers of those kinds', async () => {
    const slack = await receiverFor('slack', { format: 'slack' })
    const am = await receiverFor('am', { kind: 'alertmanager' })
    const sendsNoResolved = await receiverFor('quiet', { sendResolved: false })
    await fire('slack')
    await fire('am')
    await fire('quiet')
    await fire('slack', 0)
    await fire('am', 0)
    await fire('quiet', 0)
    await waitFor('slack firing and resolved', () => slack.receiver.requests.length >= 2)
    expect(slack.receiver.requests.map((r) => Object.keys(r.json))).toEqual([['text'], ['text']])
    expect(slack.receiver.requests[0]!.json.text).toMatch(
      /^\[FIRING:1\] TestHigh\n• \[warning\] slack is at 5 \{case="slack"\}/,
    )
    expect(slack.receiver.requests[1]!.json.text).toMatch(/^\[RESOLVED\] TestHigh/)

    await waitFor('alertmanager firing and resolved', () => am.receiver.requests.length >= 2)
    expect(am.receiver.requests.map((r) => r.path)).toEqual(['/api/v2/alerts', '/api/v2/alerts'])
    const [firing, resolved] = am.receiver.requests.map((r) => r.json[0])
    expect(Object.keys(firing).sort()).toEqual(['annotations', 'endsAt', 'generatorURL', 'labels', 'startsAt'])
    expect(Date.parse(firing.endsAt)).toBeGreaterThan(Date.parse(firing.startsAt))
    expect(resolved.startsAt).toBe(firing.startsAt)

    await waitFor('the quiet receiver’s firing notification', () => sendsNoResolved.receiver.requests.length >= 1)
    const quiet = await notificationsOf('quiet')
    expect(quiet.map((n) => n.reason)).toEqual(['firing'])
  })

  it('with a group wait, batches the alerts of a group that arrive meanwhile into one notification', async () => {
    const receiver = await startReceiver()
    const res = await t.request('POST', '/api/alerts/receivers', {
      name: 'batched',
      url: receiver.url,
      matchers: [{ name: 'case', op: '=~', value: 'batch-.*' }],
      groupWait: '2s',
    })
    expect(res.statusCode).toBe(201)
    alerting.signal.setMany([{ labels: { case: 'batch-a' }, value: 5 }])
    await tick()
    alerting.signal.setMany([
      { labels: { case: 'batch-a' }, value: 5 },
      { labels: { case: 'batch-b' }, value: 5 },
    ])
    await tick(100)
    const [request] = await waitFor('the batched notification', () => receiver.requests.length > 0 && receiver.requests)
    expect(request!.json.alerts.map((a: { labels: { case: string } }) => a.labels.case).sort()).toEqual([
      'batch-a',
      'batch-b',
    ])
    expect(await notificationsOf('batched')).toHaveLength(1)
    alerting.signal.setMany([])
  })

  it('sends a test notification on demand and answers with its outcome', async () => {
    const { receiver, id } = await receiverFor('tested')
    const res = await t.request('POST', `/api/alerts/receivers/${id}/test`)
    expect(res.statusCode).toBe(200)
    expect(res.json().notification).toMatchObject({
      status: 'delivered',
      attempts: 1,
      reason: 'test',
      receiver: 'tested',
    })
    expect(receiver.requests[0]!.json.alerts[0].labels).toEqual({
      alertname: 'TestNotification',
      receiver: 'tested',
      severity: 'info',
    })

    receiver.respond = () => 410
    const refused = await t.request('POST', `/api/alerts/receivers/${id}/test`)
    expect(refused.json().notification).toMatchObject({ status: 'failed', lastStatusCode: 410 })
    expect((await t.request('POST', `/api/alerts/receivers/${crypto.randomUUID()}/test`)).statusCode).toBe(404)
    const audit = (await t.request('GET', '/api/audit?action=alert_receiver.test&limit=5')).json().entries
    expect(audit.map((e: { detail: { status: string } }) => e.detail.status)).toEqual(['failed', 'delivered'])
  })
})
