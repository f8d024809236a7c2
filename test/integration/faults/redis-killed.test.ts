import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it, onTestFailed } from 'vitest'
import { parse, stringify } from 'yaml'
import { DEFAULT_RULES_FILE } from '../../../server/alerts/index.js'
import { generateToken } from '../../../server/auth/token-repository.js'
import { dropTestData, uniqueName } from '../../helpers/app.js'
import { startService, type ServiceProcess } from '../../helpers/process.js'
import { rulesFile, startReceiver, waitFor, type TestReceiver } from '../../helpers/alerts.js'
import { DisposableRedis } from '../../helpers/redis-server.js'
import { FAST_SIM, parseSse } from '../../helpers/chat.js'
import { startLoad, type Load, type LoadRecord } from './load.js'

/**
 * Redis is SIGKILLed while a real service process is under chat load, then started again.
 * Chat must not notice (the cache falls back to its in-process layer), the CacheDown alert
 * must fire and reach a real webhook receiver, and once Redis is back the client reconnects
 * on its own and CacheDown resolves. The Redis is a redis-server of the test's own (never the
 * shared one); Postgres is DATABASE_URL (own schema) when set, else embedded PGlite.
 */

/**
 * The default CacheDown rule, unchanged but for `for`: the default's 10s would make the test
 * wait 10s for nothing, and what is tested here is that the rule fires at all while Redis is
 * down, not its hold time (the engine's `for` has its own tests).
 */
function cacheDownRuleOnly(): string {
  const defaults = parse(readFileSync(DEFAULT_RULES_FILE, 'utf8')) as { rules: Array<Record<string, unknown>> }
  const rule = defaults.rules.find((r) => r.name === 'CacheDown')
  if (!rule) throw new Error(`no CacheDown rule in ${DEFAULT_RULES_FILE}`)
  return rulesFile(stringify({ rules: [{ ...rule, for: '1s' }] }))
}

function serviceLog(service: ServiceProcess | undefined): string {
  const lines = (service?.output() ?? '')
    .split('\n')
    .filter((l) => !/"msg":"(incoming request|request completed)"/.test(l))
  return lines.slice(-80).join('\n')
}

/** Alerting's leader lease. Without Redis, an instance leads on the database lock after two of these. */
const LEASE_TTL_MS = 3_000

const REPEATED_PROMPTS = ['what is a cache hit?', 'explain redis in one line', 'why do alerts fire?']

describe('Redis killed under chat load', () => {
  const databaseUrl = process.env.DATABASE_URL
  const schema = uniqueName('faults_redis')
  const dataDir = mkdtempSync(join(tmpdir(), 'ccp-redis-killed-'))
  const rules = cacheDownRuleOnly()
  const adminToken = generateToken()
  const auth = { authorization: `Bearer ${adminToken}` }
  let redis: DisposableRedis | undefined
  let receiver: TestReceiver | undefined
  let service: ServiceProcess | undefined
  let probe: Redis | undefined
  let load: Load | undefined

  afterAll(async () => {
    // The service first: requests still in flight then fail at once instead of running to their timeout.
    service?.child.kill('SIGKILL')
    await service?.exited
    await load?.stop()
    probe?.disconnect()
    await receiver?.close()
    await redis?.kill()
    if (databaseUrl) await dropTestData({ name: 'postgres', databaseUrl, redisUrl: undefined }, { schema })
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(dirname(rules), { recursive: true, force: true })
  })

  it('serves every chat request while Redis is down, fires CacheDown, and recovers by itself', async () => {
    // The service's own log (without the per-request lines) says what it saw.
    onTestFailed(() => console.error(`service log:\n${serviceLog(service)}`))
    redis = await DisposableRedis.start()
    receiver = await startReceiver()
    service = await startService({
      ...FAST_SIM,
      ADMIN_TOKEN: adminToken,
      DATA_DIR: dataDir,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema } : {}),
      REDIS_URL: redis.url,
      CACHE_PREFIX: `ccp-test:${uniqueName('p')}:`,
      ALERT_RULES_FILE: rules,
      ALERT_WEBHOOK_URL: `${receiver.url}/hook`,
      ALERT_DELIVERY_POLL_MS: '200',
      ALERT_RETRY_BASE_MS: '200',
      // health_up{component="redis"} comes from the health-check job (default every 15 s):
      // every second, and a snapshot every half second, so CacheDown follows Redis in seconds.
      JOB_HEALTH_CHECK_SCHEDULE: '* * * * * *',
      SAMPLE_INTERVAL_MS: '500',
      LEADER_LOCK_TTL_MS: String(LEASE_TTL_MS),
      // Load shedding on event-loop lag is not under test, and a busy CI machine would trigger it.
      MAX_EVENT_LOOP_DELAY_MS: '0',
    })
    const base = service.url
    const get = async (path: string) => {
      const res = await fetch(`${base}${path}`, { headers: auth })
      return { status: res.status, json: (await res.json()) as any }
    }
    const cacheDownAlert = async () =>
      (await get('/api/alerts')).json.alerts.find((a: { rule: string }) => a.rule === 'CacheDown')
    const webhooks = (status: 'firing' | 'resolved') =>
      receiver!.requests.filter(
        (r) =>
          r.json?.status === status &&
          r.json.alerts.some((a: { labels: { alertname: string } }) => a.labels.alertname === 'CacheDown'),
      )

    // Alerting runs on the fleet leader: wait until this instance holds the lease.
    await waitFor('the instance to lead alerting', async () => (await get('/api/instances')).json.leaderId !== null)
    expect(await cacheDownAlert()).toBeUndefined()

    let phase: 'before' | 'during' | 'after' = 'before'
    let fresh = 0
    load = startLoad({
      loops: 4,
      timeoutMs: 15_000,
      pauseMs: 20,
      next: (loop, seq) => {
        // Half repeated prompts (cache hits once answered), half new ones; every third streamed.
        const content =
          seq % 2 === 0
            ? REPEATED_PROMPTS[(loop + seq) % REPEATED_PROMPTS.length]!
            : `a new question #${fresh++} (${phase})`
        const stream = seq % 3 === 0
        return {
          kind: stream ? 'stream' : 'json',
          tag: phase,
          url: `${base}/v1/chat/completions`,
          init: {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ messages: [{ role: 'user', content }], stream }),
          },
        }
      },
    })
    const countIn = (which: string, records: LoadRecord[] = load!.records) =>
      records.filter((r) => r.endedAt !== null && r.tag === which).length

    await waitFor('chat load before the outage', () => countIn('before') >= 30)

    // SIGKILL: no goodbye to the service's client.
    phase = 'during'
    await redis.kill()
    const killedAt = Date.now()

    const firing = await waitFor(
      'CacheDown to fire',
      async () => {
        const alert = await cacheDownAlert()
        return alert?.state === 'firing' && alert
      },
      30_000,
    )
    expect(firing).toMatchObject({ severity: 'critical', labels: { alertname: 'CacheDown', component: 'redis' } })
    const [hook] = await waitFor(
      'a firing CacheDown webhook',
      () => webhooks('firing').length > 0 && webhooks('firing'),
    )
    expect(hook!.path).toBe('/hook')
    expect(hook!.json).toMatchObject({
      version: '4',
      status: 'firing',
      commonLabels: { alertname: 'CacheDown', severity: 'critical' },
    })
    const firedAfterMs = Date.now() - killedAt
    // Redis is down for every instance: alerting moves to the database lock within two lease
    // TTLs, then the rule needs a health check, two snapshots and a delivery (generous margin).
    expect(firedAfterMs).toBeLessThan(2 * LEASE_TTL_MS + 10_000)

    // Meanwhile the service says honestly that Redis is gone.
    expect((await get('/api/cache/stats')).json.l2.connected).toBe(false)
    expect((await fetch(`${base}/health/ready`)).status).toBe(503)
    await waitFor('chat load during the outage', () => countIn('during') >= 30)

    phase = 'after'
    await redis.restart()
    const restartedAt = Date.now()

    // Nobody restarts the service or tells it anything: its client reconnects on its own.
    await waitFor('l2 connected again', async () => (await get('/api/cache/stats')).json.l2.connected === true)
    await waitFor('ready again', async () => (await fetch(`${base}/health/ready`)).status === 200)
    await waitFor('a resolved CacheDown webhook', () => webhooks('resolved').length > 0, 30_000)
    await waitFor('CacheDown gone from the active alerts', async () => (await cacheDownAlert()) === undefined)
    const resolvedAfterMs = Date.now() - restartedAt

    // New answers land in Redis again.
    const after = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'asked once Redis is back' }] }),
    })
    expect(after.status).toBe(200)
    expect(after.headers.get('x-cache')).toBe('MISS')
    probe = new Redis(redis.url, { maxRetriesPerRequest: 1 })
    expect(await probe.exists(after.headers.get('x-cache-key')!)).toBe(1)

    await waitFor('chat load after the outage', () => countIn('after') >= 30)
    const records = await load.stop()
    load = undefined

    // Not one chat request failed, before, during or after the outage.
    const failures = records.filter((r) => r.status !== 200 || r.error !== null)
    expect(
      failures.map((r) => ({ kind: r.kind, status: r.status, error: r.error, body: r.body?.slice(0, 200) })),
    ).toEqual([])
    for (const r of records) {
      if (r.kind === 'json') {
        expect(JSON.parse(r.body!).choices[0].message.content).toMatch(/^Simulated reply/)
      } else {
        const events = parseSse(r.body!)
        expect(events.at(-1)!.data).toBe('[DONE]')
        expect(events.some((e) => e.data.includes('"error"'))).toBe(false)
      }
    }
    // Repeated prompts were answered from the cache during the outage too (L1).
    const hitsDuring = records.filter((r) => r.tag === 'during' && r.headers?.['x-cache'] === 'HIT').length
    expect(hitsDuring).toBeGreaterThan(0)

    console.info(
      `redis-killed: ${records.length} chat requests (${['before', 'during', 'after'].map((p) => `${countIn(p, records)} ${p}`).join(', ')}), ` +
        `${hitsDuring} cache hits during the outage; CacheDown delivered ${firedAfterMs} ms after the kill, resolved ${resolvedAfterMs} ms after the restart`,
    )
  }, 120_000)
})
