import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateToken } from '../../../server/auth/token-repository.js'
import { DisposablePostgres } from '../../helpers/postgres-cluster.js'
import { dropTestData, uniqueName } from '../../helpers/app.js'
import { connectLive, type LiveClient } from '../../helpers/live-client.js'
import type { ServiceProcess } from '../../helpers/process.js'
import { rulesFile, startReceiver, type TestReceiver } from '../../helpers/alerts.js'
import { DisposableRedis } from '../../helpers/redis-server.js'
import {
  acknowledgedAlerts,
  apiGet,
  countBy,
  expectedSignature,
  stopService,
  transitionKey,
  useServiceProcesses,
} from './fleet-support.js'
import { poll } from '../../helpers/wait.js'

/**
 * Three real service processes on one Postgres schema and one Redis prefix: one leader, each
 * scheduled job occurrence run once across the fleet, a SIGKILLed leader replaced within two
 * lock TTLs, and each alert transition delivered to a real webhook receiver exactly once —
 * including the one that happens while nobody leads.
 *
 * Uses DATABASE_URL / REDIS_URL when set (CI); otherwise a Postgres cluster and a redis-server
 * of its own, since fleet mode needs both.
 */
const LOCK_TTL_MS = 3000
const MEASUREMENT_SLACK_MS = 1000
const JOB_PERIOD_MS = 2000
const SECRET = 'three-instances-secret'
const NEVER = '0 0 0 1 1 *' // once a year: keeps the other jobs out of the way

// websocket_connections is per instance and only the leader evaluates: the test opens (and
// closes) one live client on every running instance, so whichever instance leads sees it.
const RULES = `rules:
  - name: DashboardOpen
    signal: websocket_connections
    op: ">"
    threshold: 0
    for: 0s
    severity: warning
`

interface InstancesView {
  leaderId: string | null
  redis: boolean
  instances: Array<{ id: string; self: boolean; leader: boolean; version: string; lastHeartbeat: string }>
}

describe('three instances sharing one Postgres and one Redis', () => {
  const schema = uniqueName('faults_fleet')
  const cachePrefix = `ccp-test:${uniqueName('fleet3')}:`
  const adminToken = generateToken()
  const rules = rulesFile(RULES)
  const dataDir = mkdtempSync(join(tmpdir(), 'ccp-fleet3-'))
  const services = useServiceProcesses()
  const instances = new Map<string, ServiceProcess>()
  const live = new Map<string, LiveClient>()
  const killed = new Set<string>()
  let ownPostgres: DisposablePostgres | undefined
  let ownRedis: DisposableRedis | undefined
  let databaseUrl: string
  let redisUrl: string
  let receiver: TestReceiver
  let fleetUpAt = 0
  let killedAt = 0

  const running = () => [...instances].filter(([id]) => !killed.has(id))
  const instancesView = (service: ServiceProcess) => apiGet<InstancesView>(service, adminToken, '/api/instances')
  const leaderOf = async (service: ServiceProcess) => (await instancesView(service)).leaderId

  /** Opens one live client on each running instance (the alert's condition holds wherever the leader is). */
  const openDashboards = async () => {
    for (const [id, service] of running())
      live.set(id, await connectLive(service.url, { authorization: `Bearer ${adminToken}` }))
  }
  const closeDashboards = async () => {
    await Promise.all([...live.values()].map((c) => c.close()))
    live.clear()
  }
  const delivered = (status: 'firing' | 'resolved', count: number) =>
    poll(
      `${count} acknowledged '${status}' notifications`,
      () => acknowledgedAlerts(receiver.requests).filter((a) => a.status === status).length >= count,
      30_000,
    )
  /** Dashboards open: the alert fires, and its count-th 'firing' is delivered. */
  const fire = async (count: number) => {
    await openDashboards()
    await delivered('firing', count)
  }
  /** Dashboards closed: the alert resolves, and its count-th 'resolved' is delivered. */
  const resolve = async (count: number) => {
    await closeDashboards()
    await delivered('resolved', count)
  }

  beforeAll(async () => {
    ownPostgres = process.env.DATABASE_URL ? undefined : await DisposablePostgres.create()
    ownRedis = process.env.REDIS_URL ? undefined : await DisposableRedis.start()
    databaseUrl = process.env.DATABASE_URL || ownPostgres!.url
    redisUrl = process.env.REDIS_URL || ownRedis!.url
    receiver = await startReceiver()
    const env = (id: string): Record<string, string> => ({
      INSTANCE_ID: id,
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema,
      DB_POOL_SIZE: '4',
      REDIS_URL: redisUrl,
      CACHE_PREFIX: cachePrefix,
      ADMIN_TOKEN: adminToken,
      LEADER_LOCK_TTL_MS: String(LOCK_TTL_MS),
      INSTANCE_HEARTBEAT_MS: '500',
      SAMPLE_INTERVAL_MS: '300',
      JOB_CACHE_WARM_SCHEDULE: `*/${JOB_PERIOD_MS / 1000} * * * * *`,
      JOB_HEALTH_CHECK_SCHEDULE: NEVER,
      JOB_INDEX_MAINTENANCE_SCHEDULE: NEVER,
      JOB_VACUUM_ANALYZE_SCHEDULE: NEVER,
      JOB_RETENTION_SCHEDULE: NEVER,
      ALERT_RULES_FILE: rules,
      ALERT_WEBHOOK_URL: `${receiver.url}/hook`,
      ALERT_WEBHOOK_SECRET: SECRET,
      ALERT_DELIVERY_POLL_MS: '200',
      ALERT_RETRY_BASE_MS: '200',
      ALERT_RETRY_MAX_DELAY_MS: '1000',
      ALERT_DELIVERY_TIMEOUT_MS: '3000',
      MAX_EVENT_LOOP_DELAY_MS: '0',
    })
    // All three at once, as a fleet rolled out together would: they race for migrations and seeding too.
    const ids = ['fleet-a', 'fleet-b', 'fleet-c']
    // allSettled: afterAll must find every process that did start, even when another one failed to.
    const results = await Promise.allSettled(ids.map((id) => services.start(env(id))))
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw failed.reason
    ids.forEach((id, i) => instances.set(id, (results[i] as PromiseFulfilledResult<ServiceProcess>).value))
    fleetUpAt = Date.now()
  }, 120_000)

  afterAll(async () => {
    await closeDashboards().catch(() => {})
    await services.stopAll()
    await receiver?.close()
    if (ownPostgres) await ownPostgres.destroy()
    else await dropTestData({ name: 'fleet', databaseUrl, redisUrl: undefined }, { schema })
    if (ownRedis) await ownRedis.kill()
    else await dropTestData({ name: 'fleet', databaseUrl: undefined, redisUrl }, { cachePrefix })
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(dirname(rules), { recursive: true, force: true })
  })

  it('lists all three instances on every instance, exactly one of them leading', async () => {
    for (const [id, service] of instances) {
      const view = await poll(`${id} to see all three instances and a leader`, async () => {
        const v = await instancesView(service)
        return v.instances.length === 3 && v.leaderId !== null && v
      })
      expect(view.redis).toBe(true)
      expect(view.instances.map((i) => i.id).sort()).toEqual([...instances.keys()])
      expect(view.instances.filter((i) => i.self).map((i) => i.id)).toEqual([id])
      expect(view.instances.filter((i) => i.leader).map((i) => i.id)).toEqual([view.leaderId])
    }
    const leaders = await Promise.all([...instances.values()].map(leaderOf))
    expect(new Set(leaders).size).toBe(1)
  })

  it('delivers the leader’s alert transitions once and shows its alert events on the other instances’ live feeds', async () => {
    const leaderId = (await leaderOf(instances.get('fleet-a')!))!
    await fire(1)
    // The leader evaluated; a dashboard on another instance hears of it through Redis.
    const followerId = [...live.keys()].find((id) => id !== leaderId)!
    const event = await poll('the alert event on a follower’s live feed', () =>
      live.get(followerId)!.messages.find((m) => m.type === 'alert' && m.data.to === 'firing'),
    )
    expect(event).toMatchObject({ type: 'alert', instance: leaderId, data: { rule: 'DashboardOpen', to: 'firing' } })

    await resolve(1)
    await fire(2)
  }, 90_000)

  it('replaces a SIGKILLed leader within two lock TTLs and delivers the resolution that happens meanwhile once', async () => {
    const survivorCheck = instances.get('fleet-a')!
    const oldLeader = (await leaderOf(survivorCheck))!
    // Kill only once the outbox is settled (delivered and recorded): a leader killed between a
    // receiver's 2xx and recording it would rightly resend under the same key, which is not
    // what this test is about.
    await poll('the outbox settled', async () => {
      const { notifications } = await apiGet<{ notifications: Array<{ status: string }> }>(
        survivorCheck,
        adminToken,
        '/api/alerts/notifications',
      )
      return notifications.length === 3 && notifications.every((n) => n.status === 'delivered')
    })
    // Away from a cache-warm occurrence, so the victim holds no job lock (its 30 s lease would skip the next runs).
    await new Promise((r) => setTimeout(r, (JOB_PERIOD_MS * 2 + 700 - (Date.now() % JOB_PERIOD_MS)) % JOB_PERIOD_MS))

    const victim = instances.get(oldLeader)!
    killedAt = Date.now()
    victim.child.kill('SIGKILL')
    killed.add(oldLeader)
    // The alert's condition ends while nobody leads: the next leader has to notice and send the resolution.
    live.get(oldLeader)?.socket.terminate()
    live.delete(oldLeader)
    await closeDashboards()

    const [, survivor] = running()[0]!
    const newLeader = await poll(
      'another instance to lead',
      async () => {
        const id = await leaderOf(survivor)
        return id !== null && id !== oldLeader && { id, at: Date.now() }
      },
      4 * LOCK_TTL_MS,
      25,
    )
    await stopService(victim, 'SIGKILL')
    const takeoverMs = newLeader.at - killedAt
    // The promise is two lease TTLs; the slack covers reading the leader over HTTP every 25 ms
    // from a process on a busy two-core machine.
    expect(takeoverMs, `took over after ${takeoverMs} ms`).toBeLessThanOrEqual(2 * LOCK_TTL_MS + MEASUREMENT_SLACK_MS)
    expect(running().map(([id]) => id)).toContain(newLeader.id)

    await delivered('resolved', 2)
    // The dead instance drops out of the list once its heartbeat key expires.
    for (const [id, service] of running()) {
      await poll(`${id} to list only the two survivors`, async () => {
        const view = await instancesView(service)
        return (
          view.instances.length === 2 &&
          view.leaderId === newLeader.id &&
          view.instances.every((i) => i.id !== oldLeader)
        )
      })
    }

    // The new leader alerts as the old one did.
    await fire(3)
    await resolve(3)
  }, 90_000)

  it('delivered every transition exactly once across the takeover, each under its own key, signed', async () => {
    // Late duplicates would arrive within a delivery poll or two: give them the time.
    await new Promise((r) => setTimeout(r, 1500))
    const requests = receiver.requests
    expect(requests.every((r) => r.status === 200)).toBe(true)
    for (const r of requests) {
      expect(r.path).toBe('/hook')
      expect(r.headers['x-signature-256']).toBe(expectedSignature(r.body, SECRET))
    }
    const alerts = acknowledgedAlerts(requests)
    const counts = countBy(alerts, transitionKey)
    expect(
      Object.values(counts).every((n) => n === 1),
      JSON.stringify(counts, null, 1),
    ).toBe(true)
    const startsAt = (status: string) =>
      alerts
        .filter((a) => a.status === status)
        .map((a) => a.startsAt)
        .sort()
    expect(startsAt('firing')).toHaveLength(3)
    expect(new Set(startsAt('firing')).size).toBe(3)
    expect(startsAt('resolved')).toEqual(startsAt('firing'))
    expect(new Set(alerts.map((a) => a.fingerprint)).size).toBe(1)
    expect(new Set(requests.map((r) => r.idempotencyKey)).size).toBe(requests.length)
    // The resolution that happened during the takeover was sent after the kill, by the new leader.
    const takeoverResolution = alerts.find((a) => a.status === 'resolved' && a.startsAt === startsAt('firing')[1])!
    expect(requests.find((r) => r.idempotencyKey === takeoverResolution.idempotencyKey)!.at).toBeGreaterThan(killedAt)
  })

  it('ran each cache-warm occurrence once across the fleet, and kept running after the kill', async () => {
    type Run = { occurrence_key: string; instance: string; status: string }
    const occurrenceAt = (run: Run) => Date.parse(run.occurrence_key.replace(/^schedule:/, ''))
    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    let rows: Run[]
    try {
      const scheduledRuns = async () =>
        (
          await client.query<Run>(
            `select occurrence_key, instance, status from "${schema}".job_runs where job = 'cache-warm' and trigger = 'schedule'`,
          )
        ).rows
      // A window of several occurrences, a few of them after the kill.
      rows = await poll(
        'several cache-warm occurrences, three of them after the kill',
        async () => {
          const runs = await scheduledRuns()
          const afterKill = runs.filter((r) => occurrenceAt(r) > killedAt + JOB_PERIOD_MS && r.status === 'success')
          return Date.now() - fleetUpAt >= 10 * JOB_PERIOD_MS && afterKill.length >= 3 && runs
        },
        30_000,
        250,
      )
    } finally {
      await client.end()
    }
    const windowEnd = Date.now() - JOB_PERIOD_MS

    // Each row stands for one scheduled slot (a whole multiple of the period), and no slot has two rows.
    for (const row of rows) expect(occurrenceAt(row) % JOB_PERIOD_MS, row.occurrence_key).toBe(0)
    const perOccurrence = countBy(rows, (r) => r.occurrence_key)
    expect(Object.entries(perOccurrence).filter(([, n]) => n > 1)).toEqual([])
    // Not missed wholesale: most slots between the fleet's start and now ran (on a loaded machine
    // node-cron drops a slot more than a second late, on every instance at once).
    const slots = Math.floor((windowEnd - fleetUpAt) / JOB_PERIOD_MS)
    const inWindow = rows.filter((r) => occurrenceAt(r) > fleetUpAt && occurrenceAt(r) <= windowEnd)
    expect(inWindow.length, `${inWindow.length} of ${slots} slots ran`).toBeGreaterThanOrEqual(Math.ceil(slots / 2))
    expect(inWindow.filter((r) => r.status === 'success').length).toBeGreaterThanOrEqual(Math.ceil(slots / 2))
    // The survivors carried on after the leader died.
    const afterKill = rows.filter((r) => occurrenceAt(r) > killedAt + JOB_PERIOD_MS)
    expect(afterKill.every((r) => !killed.has(r.instance))).toBe(true)
  }, 60_000)
})
