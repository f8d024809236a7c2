import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { generateToken } from '../../../server/auth/token-repository.js'
import { dropTestData, uniqueName } from '../../helpers/app.js'
import { connectLive, type LiveClient } from '../../helpers/live-client.js'
import { freePort, type ServiceProcess } from '../../helpers/process.js'
import { rulesFile, startReceiver, type TestReceiver } from '../../helpers/alerts.js'
import {
  acknowledgedAlerts,
  apiGet,
  countBy,
  groupBy,
  expectedSignature,
  stopService,
  tail,
  transitionKey,
  useServiceProcesses,
} from './fleet-support.js'
import { poll } from '../../helpers/wait.js'

/**
 * The webhook receiver is down while alerts fire and resolve, and the service goes down in
 * between — once cleanly (SIGTERM), once in a crash (SIGKILL) — and comes back on the same
 * database. When the receiver finally answers (500 first, then a dropped connection for some,
 * then 200), every transition arrives, none twice, each notification under one Idempotency-Key
 * through all its retries, every body signed.
 *
 * Real processes on real Postgres (DATABASE_URL, a schema of the test's own) or, without it,
 * embedded PGlite in a DATA_DIR shared across the restarts; real Redis when REDIS_URL is set.
 */
const SECRET = 'webhook-restart-secret'
const databaseUrl = process.env.DATABASE_URL || undefined
const redisUrl = process.env.REDIS_URL || undefined

// websocket_connections is a signal the test drives from outside: a live client opened or closed.
const RULES = `rules:
  - name: LiveViewer
    signal: websocket_connections
    op: ">"
    threshold: 0
    for: 0s
    severity: warning
  - name: LiveCrowd
    signal: websocket_connections
    op: ">"
    threshold: 1
    for: 0s
    severity: info
`

interface NotificationView {
  id: string
  status: 'pending' | 'delivered' | 'failed'
  attempts: number
  lastError: string | null
  lastStatusCode: number | null
  deliveredAt: string | null
  alerts: Array<{ fingerprint: string; alertname: string; status: string }>
}

describe(`alert delivery across service restarts while the receiver is down (${databaseUrl ? 'postgres' : 'pglite'}${redisUrl ? '+redis' : ''})`, () => {
  const schema = uniqueName('faults_webhook')
  const cachePrefix = `ccp-test:${uniqueName('webhook')}:`
  const dataDir = mkdtempSync(join(tmpdir(), 'ccp-webhook-restart-'))
  const rules = rulesFile(RULES)
  const adminToken = generateToken()
  const services = useServiceProcesses()
  const clients: LiveClient[] = []
  let receiver: TestReceiver | undefined

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})))
    await services.stopAll()
    await receiver?.close()
    await dropTestData({ name: 'faults', databaseUrl, redisUrl }, { schema, cachePrefix })
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(dirname(rules), { recursive: true, force: true })
  })

  it('delivers every transition queued before a clean stop and a crash, once, with stable keys and valid signatures', async () => {
    // Nothing listens on this port until the receiver starts at the end.
    const receiverPort = await freePort()
    const env: Record<string, string> = {
      DATA_DIR: dataDir,
      CACHE_PREFIX: cachePrefix,
      ADMIN_TOKEN: adminToken,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema } : { DATABASE_URL: '' }),
      ...(redisUrl ? { REDIS_URL: redisUrl } : { REDIS_URL: '' }),
      ALERT_RULES_FILE: rules,
      ALERT_WEBHOOK_URL: `http://127.0.0.1:${receiverPort}/hook`,
      ALERT_WEBHOOK_SECRET: SECRET,
      ALERT_RETRY_BASE_MS: '100',
      ALERT_RETRY_MAX_DELAY_MS: '400',
      ALERT_DELIVERY_POLL_MS: '100',
      ALERT_DELIVERY_TIMEOUT_MS: '3000',
      SAMPLE_INTERVAL_MS: '300',
      // With Redis the single process is a fleet of one: after the crash its successor waits out this lease.
      LEADER_LOCK_TTL_MS: '2000',
      INSTANCE_HEARTBEAT_MS: '500',
      JOBS_ENABLED: 'false',
      MAX_EVENT_LOOP_DELAY_MS: '0',
    }
    const notifications = async (service: ServiceProcess) =>
      (await apiGet<{ notifications: NotificationView[] }>(service, adminToken, '/api/alerts/notifications?limit=500'))
        .notifications
    // Waits until the outbox holds `count` notifications, each attempted at least once (so: refused).
    const outboxHolds = (service: ServiceProcess, count: number, what: string) =>
      poll(
        `${count} attempted notifications in the outbox (${what})`,
        async () => {
          const list = await notifications(service)
          return list.length === count && list.every((n) => n.attempts >= 1) && list
        },
        30_000,
      )
    const openViewer = async (service: ServiceProcess) => {
      const client = await connectLive(service.url, { authorization: `Bearer ${adminToken}` })
      clients.push(client)
      return client
    }
    /** How many notifications the outbox holds of each kind ("alertname:status", joined by + when grouped). */
    const describeOutbox = (list: NotificationView[]) => {
      const counts: Record<string, number> = {}
      for (const n of list) {
        const kind = n.alerts.map((a) => `${a.alertname}:${a.status}`).join('+')
        counts[kind] = (counts[kind] ?? 0) + 1
      }
      return counts
    }

    // Phase 1: both alerts fire and resolve, then LiveViewer fires again and is still firing at the clean stop.
    const first = await services.start(env)
    const [viewer1, viewer2] = [await openViewer(first), await openViewer(first)]
    await outboxHolds(first, 2, 'LiveViewer and LiveCrowd firing')
    await viewer1!.close()
    await viewer2!.close()
    await outboxHolds(first, 4, 'both resolved')
    const viewer3 = await openViewer(first)
    const phase1 = await outboxHolds(first, 5, 'LiveViewer firing again')
    expect(describeOutbox(phase1)).toEqual({
      'LiveCrowd:firing': 1,
      'LiveCrowd:resolved': 1,
      'LiveViewer:firing': 2,
      'LiveViewer:resolved': 1,
    })
    expect(
      phase1.every((n) => n.status === 'pending' && /ECONNREFUSED/.test(n.lastError ?? '')),
      JSON.stringify(phase1),
    ).toBe(true)
    expect(await stopService(first, 'SIGTERM'), tail(first)).toBe(0)
    await viewer3.closed

    // Phase 2: the alert still firing at the stop resolves (no viewer any more); LiveViewer fires a third time; crash.
    const second = await services.start(env)
    await outboxHolds(second, 6, 'LiveViewer resolved after the restart')
    await openViewer(second)
    const beforeCrash = await outboxHolds(second, 7, 'LiveViewer firing a third time')
    expect(
      beforeCrash.every((n) => n.status === 'pending'),
      JSON.stringify(beforeCrash),
    ).toBe(true)
    expect(await stopService(second, 'SIGKILL')).toBeNull()

    // Phase 3: after the crash, the outbox is intact and the third firing resolves.
    const third = await services.start(env)
    const queued = await outboxHolds(third, 8, 'LiveViewer resolved after the crash')
    expect(describeOutbox(queued)).toEqual({
      'LiveCrowd:firing': 1,
      'LiveCrowd:resolved': 1,
      'LiveViewer:firing': 3,
      'LiveViewer:resolved': 3,
    })
    expect(
      queued.every((n) => n.status === 'pending' && n.deliveredAt === null),
      JSON.stringify(queued),
    ).toBe(true)

    // The receiver comes up: 500 to each notification's first request, then a connection cut
    // after reading the body for every other notification, then 200.
    receiver = await startReceiver(receiverPort)
    const keysInArrivalOrder: string[] = []
    receiver.respond = (_index, request, earlier) => {
      if (!keysInArrivalOrder.includes(request.idempotencyKey)) keysInArrivalOrder.push(request.idempotencyKey)
      if (earlier === 0) return 500
      if (earlier === 1 && keysInArrivalOrder.indexOf(request.idempotencyKey) % 2 === 0) return 'destroy'
      return 200
    }
    const delivered = await poll(
      'every notification delivered',
      async () => {
        const list = await notifications(third)
        return list.length === 8 && list.every((n) => n.status === 'delivered') && list
      },
      30_000,
    )

    const requests = receiver.requests
    // Every request went to the configured path, signed over its exact body with the secret.
    for (const r of requests) {
      expect(r.path).toBe('/hook')
      expect(r.headers['x-signature-256']).toBe(expectedSignature(r.body, SECRET))
    }

    // One Idempotency-Key per notification, kept across all its retries (same body), different between notifications.
    const byKey = groupBy(requests, (r) => r.idempotencyKey)
    expect(byKey.size).toBe(8)
    for (const [key, attempts] of byKey) {
      expect(key).toMatch(/^[0-9a-f-]{36}$/)
      expect(new Set(attempts.map((a) => a.body)).size, `bodies under key ${key}`).toBe(1)
      expect(attempts[0]!.status, `first answer under key ${key}`).toBe(500)
      expect(
        attempts.filter((a) => a.status === 200),
        `2xx answers under key ${key}`,
      ).toHaveLength(1)
      expect(attempts.at(-1)!.status).toBe(200)
    }
    expect(new Set([...byKey.values()].map((attempts) => attempts[0]!.body)).size).toBe(8)
    expect(requests.filter((r) => r.status === 'destroy').length).toBe(4)

    // Every transition acknowledged exactly once: three firings and resolutions of LiveViewer, one of LiveCrowd.
    const alerts = acknowledgedAlerts(requests)
    const counts = countBy(alerts, transitionKey)
    expect(
      Object.values(counts).every((n) => n === 1),
      JSON.stringify(counts),
    ).toBe(true)
    const byRule = (name: string, status: string) =>
      alerts
        .filter((a) => a.labels.alertname === name && a.status === status)
        .map((a) => a.startsAt)
        .sort()
    expect(byRule('LiveViewer', 'firing')).toHaveLength(3)
    expect(new Set(byRule('LiveViewer', 'firing')).size).toBe(3)
    expect(byRule('LiveViewer', 'resolved')).toEqual(byRule('LiveViewer', 'firing'))
    expect(byRule('LiveCrowd', 'firing')).toHaveLength(1)
    expect(byRule('LiveCrowd', 'resolved')).toEqual(byRule('LiveCrowd', 'firing'))

    // The API counts every attempt: at least one refused connection before the receiver was up,
    // plus each request the receiver saw.
    for (const n of delivered) {
      expect(n.lastStatusCode).toBe(200)
      expect(n.deliveredAt).not.toBeNull()
      expect(n.attempts, JSON.stringify(n)).toBeGreaterThanOrEqual(3)
    }
    const totalAttempts = delivered.reduce((sum, n) => sum + n.attempts, 0)
    expect(totalAttempts).toBeGreaterThanOrEqual(requests.length + 8)
  }, 150_000)
})
