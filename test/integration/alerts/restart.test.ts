import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { backends, createTestApp, uniqueName, type TestApp } from '../../helpers/app.js'
import {
  controlledSignal,
  lead,
  manualClock,
  MANUAL_TICKS,
  rulesFile,
  startReceiver,
  TEST_RULE,
  waitFor,
  type TestReceiver,
} from '../../helpers/alerts.js'

const SECRET = 'restart-test-secret'

/**
 * The receiver is down (closed port, then 500s) while alerts fire and resolve; the app
 * restarts in between; afterwards everything arrives, once, and the alert state carried over.
 */
describe.each(backends)('delivery across a restart ($name)', (backend) => {
  const schema = uniqueName('test')
  const cachePrefix = `ccp-test:${uniqueName('p')}:`
  const dataDir = mkdtempSync(join(tmpdir(), 'ccp-alerts-restart-'))
  const rules = rulesFile(`rules:${TEST_RULE}
  - name: Extra
    signal: other_signal
    op: ">"
    threshold: 1
    severity: info
`)
  let receiver: TestReceiver | undefined
  let second: TestApp | undefined
  afterAll(async () => {
    await second?.close()
    await receiver?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('delivers everything that was queued before the restart, and nothing twice', async () => {
    const probe = await startReceiver()
    const port = probe.port
    await probe.close()
    const env = {
      ...MANUAL_TICKS,
      ALERT_RULES_FILE: rules,
      ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
      ALERT_WEBHOOK_SECRET: SECRET,
      ALERT_RETRY_BASE_MS: '50',
      ALERT_RETRY_MAX_DELAY_MS: '200',
      ALERT_DELIVERY_POLL_MS: '50',
    }
    const store = { schema, cachePrefix, dataDir }
    const clock = manualClock()
    const tick = (app: TestApp['app']) => clock.tick(app)

    const first = await createTestApp(backend, { env, ...store, keepData: true })
    await lead(first.app)
    const signal = controlledSignal(first.app)
    signal.setMany([
      { labels: { case: 'flap' }, value: 5 },
      { labels: { case: 'steady' }, value: 5 },
    ])
    await tick(first.app)
    signal.setMany([
      { labels: { case: 'flap' }, value: 0 },
      { labels: { case: 'steady' }, value: 5 },
    ])
    await tick(first.app)
    // Both firing alerts share a group (alertname): one notification, then one for the resolution.
    const before = await waitFor('two attempted notifications', async () => {
      const list = (await first.request('GET', '/api/alerts/notifications')).json().notifications
      return list.length === 2 && list.every((n: { attempts: number }) => n.attempts >= 1) && list
    })
    expect(
      before.every(
        (n: { status: string; lastError: string }) => n.status === 'pending' && n.lastError.includes('ECONNREFUSED'),
      ),
    ).toBe(true)
    expect((await first.request('DELETE', '/api/alerts/rules/Extra')).statusCode).toBe(200)
    const steadyBefore = (await first.request('GET', '/api/alerts')).json().alerts
    await first.close()

    // Back, but answering 500 at first.
    receiver = await startReceiver(port)
    receiver.respond = (index) => (index === 0 ? 500 : 200)
    second = await createTestApp(backend, { env, ...store })
    await lead(second.app)
    const app = second.app
    const list = async () => (await second!.request('GET', '/api/alerts/notifications')).json().notifications
    await waitFor(
      'the queued notifications delivered',
      async () => (await list()).filter((n: { status: string }) => n.status === 'delivered').length === 2,
    )

    // The steady alert is still firing after the restart, with its old start, and is not announced again.
    const steadyAfter = (await second!.request('GET', '/api/alerts')).json().alerts
    expect(steadyAfter.map((a: { fingerprint: string; since: string }) => [a.fingerprint, a.since])).toEqual(
      steadyBefore.map((a: { fingerprint: string; since: string }) => [a.fingerprint, a.since]),
    )
    const again = controlledSignal(app)
    again.set(5, { case: 'steady' })
    await tick(app)
    again.set(0, { case: 'steady' })
    await tick(app)
    await waitFor(
      'the steady alert resolved',
      async () => (await list()).filter((n: { status: string }) => n.status === 'delivered').length === 3,
    )

    const delivered = receiver.requests.filter((r) => r.status === 200)
    const seen = delivered
      .flatMap((r) =>
        r.json.alerts.map((a: { labels: { case: string }; status: string }) => `${a.labels.case}:${a.status}`),
      )
      .sort()
    expect(seen).toEqual(['flap:firing', 'flap:resolved', 'steady:firing', 'steady:resolved'])
    for (const r of receiver.requests) {
      expect(r.path).toBe('/hook')
      expect(r.headers['x-signature-256']).toBe(`sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`)
    }
    const keys = delivered.map((r) => r.headers['idempotency-key'])
    expect(new Set(keys).size).toBe(3)
    expect(keys).toContain(receiver.requests[0]!.headers['idempotency-key'])

    // Rules are seeded once: the one deleted before the restart stays deleted.
    const ruleNames = (await second!.request('GET', '/api/alerts/rules'))
      .json()
      .rules.map((r: { name: string }) => r.name)
    expect(ruleNames).toEqual(['TestHigh'])
    const [webhook] = (await second!.request('GET', '/api/alerts/receivers')).json().receivers
    expect(webhook).toMatchObject({ name: 'webhook', source: 'env', hasSecret: true })
  }, 120_000)
})
