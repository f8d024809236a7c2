import { beforeAll, describe, expect, it } from 'vitest'
import { backends, useTestApp } from '../../helpers/app.js'
import { lead, rulesFile, useReceivers, waitFor, type TestReceiver } from '../../helpers/alerts.js'

/**
 * The service as it runs: the sampler on its own timer, a low-threshold rule on
 * http_requests_per_second, a webhook receiver from ALERT_WEBHOOK_URL. Traffic fires the
 * alert; silence resolves it once the signal window has slid past the traffic.
 */
describe.each(backends)('alerting end to end ($name)', (backend) => {
  const startReceiver = useReceivers()
  let receiver: TestReceiver
  beforeAll(async () => {
    receiver = await startReceiver()
  })
  const t = useTestApp(backend, () => ({
    env: {
      SAMPLE_INTERVAL_MS: '100',
      SIGNAL_WINDOW_S: '5',
      ALERT_WEBHOOK_URL: `${receiver.url}/alerts`,
      ALERT_RULES_FILE: rulesFile(`rules:
  - name: TrafficSeen
    signal: http_requests_per_second
    op: ">"
    threshold: 0.5
    severity: info
    annotations:
      summary: "{{ $value }} requests per second"
`),
    },
  }))
  beforeAll(() => lead(t.app))

  it('sends a firing webhook when traffic starts and a resolved one after it stops', async () => {
    for (let i = 0; i < 30; i++)
      expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)
    const firing = await waitFor('the firing webhook', () => receiver.requests.find((r) => r.json?.status === 'firing'))
    expect(firing.path).toBe('/alerts')
    expect(firing.json).toMatchObject({
      version: '4',
      receiver: 'webhook',
      groupKey: '{}:{alertname="TrafficSeen"}',
      commonLabels: { alertname: 'TrafficSeen', severity: 'info' },
      externalURL: t.config.publicUrl,
    })
    expect(firing.json.alerts[0].annotations.summary).toMatch(/^[0-9.]+ requests per second$/)

    const resolved = await waitFor('the resolved webhook', () =>
      receiver.requests.find((r) => r.json?.status === 'resolved'),
    )
    const [alert] = resolved.json.alerts
    expect(alert.fingerprint).toBe(firing.json.alerts[0].fingerprint)
    expect(Date.parse(alert.endsAt)).toBeGreaterThanOrEqual(Date.parse(alert.startsAt))
    expect(receiver.requests.filter((r) => r.status === 200)).toHaveLength(2)
    // The receiver has answered; let the worker write the outcome down. (Two API calls in the
    // 5 s window stay under the rule's 0.5 requests per second.)
    await t.app.alerts.worker.idle()

    const history = (await t.request('GET', `/api/alerts/history?fingerprint=${alert.fingerprint}`)).json().events
    expect(history.map((e: { to: string }) => e.to)).toEqual(['resolved', 'firing'])
    const notifications = (await t.request('GET', '/api/alerts/notifications')).json().notifications
    expect(notifications.map((n: { status: string; reason: string }) => `${n.reason}:${n.status}`)).toEqual([
      'resolved:delivered',
      'firing:delivered',
    ])
  })
})
