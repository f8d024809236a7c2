import { AsyncLocalStorage } from 'node:async_hooks'
import type { FastifyInstance } from 'fastify'
import type { LogEvent } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateToken } from '../../../server/auth/token-repository.js'
import type { SignalSample } from '../../../server/metrics/snapshot.js'
import {
  backends,
  createTestApp,
  dropTestData,
  real,
  uniqueName,
  type Backend,
  type TestApp,
} from '../../helpers/app.js'
import { lead, MANUAL_TICKS, rulesFile, TEST_RULE, waitFor } from '../../helpers/alerts.js'

/** Marks the async work started inside it, so that the queries it issues can be told from the app's others. */
const observed = new AsyncLocalStorage<object>()

/** The SQL of every query issued by `work` and whatever it started (other queries of the app are not counted). */
async function queriesOf(app: FastifyInstance, work: () => unknown): Promise<string[]> {
  const marker = {}
  const queries: string[] = []
  const listener = (event: LogEvent) => {
    if (observed.getStore() === marker) queries.push(event.query.sql)
  }
  app.database.queryListeners.add(listener)
  try {
    await observed.run(marker, async () => work())
    return queries
  } finally {
    app.database.queryListeners.delete(listener)
  }
}

/** One evaluation tick through the evaluator's queue (as the sampler delivers snapshots); returns its queries. */
async function tick(app: FastifyInstance, at: number, signals: SignalSample[]): Promise<string[]> {
  const { evaluator } = app.alerts
  await evaluator.idle()
  return queriesOf(app, async () => {
    evaluator.onSnapshot({ at, instance: 'test', signals })
    await evaluator.idle()
  })
}

const sample = (value: number, labels: Record<string, string> = {}): SignalSample => ({
  name: 'test_signal',
  labels,
  value,
})

const statesOf = (app: FastifyInstance) =>
  (app.alerts.evaluator.workingSet()?.states ?? []).map((s) => `${s.rule}:${s.state}`).sort()

describe.each(backends)('evaluation from memory ($name)', (backend) => {
  let t: TestApp
  let clock = Date.now()
  const next = () => (clock = Math.max(clock + 1000, Date.now()))
  const call = (method: 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
    t.app.inject({ method, url, payload, headers: t.auth() })

  beforeAll(async () => {
    t = await createTestApp(backend, { env: { ...MANUAL_TICKS, ALERT_RULES_FILE: rulesFile(`rules:${TEST_RULE}`) } })
    await lead(t.app)
    await t.app.alerts.evaluator.idle()
  }, 60_000)
  afterAll(async () => t?.close())

  it('evaluates a tick without a single database query, and persists only what changed', async () => {
    expect(t.app.alerts.evaluator.workingSet()?.rules.map((r) => r.name)).toEqual(['TestHigh'])
    // The counter does see the database path: loading the working set reads rules, silences, states.
    const reload = await queriesOf(t.app, () => t.app.alerts.evaluator.reload())
    expect(reload.filter((q) => /^select/i.test(q)).length).toBeGreaterThanOrEqual(3)

    // Nothing active, nothing to write.
    expect(await tick(t.app, next(), [sample(0, { case: 'quiet' })])).toEqual([])

    // A transition is written (state, history, in one transaction) but nothing is read.
    const firing = await tick(t.app, next(), [sample(5, { case: 'hot' })])
    expect(firing.length).toBeGreaterThan(0)
    expect(firing.filter((q) => /^\s*select/i.test(q))).toEqual([])
    expect(statesOf(t.app)).toEqual(['TestHigh:firing'])
    const res = await t.app.inject({ method: 'GET', url: '/api/alerts', headers: t.auth() })
    expect(res.json().alerts.map((a: { rule: string; state: string }) => `${a.rule}:${a.state}`)).toEqual([
      'TestHigh:firing',
    ])

    // Steady: still firing, same value: no query at all.
    expect(await tick(t.app, next(), [sample(5, { case: 'hot' })])).toEqual([])
    expect(statesOf(t.app)).toEqual(['TestHigh:firing'])

    const resolved = await tick(t.app, next(), [sample(0, { case: 'hot' })])
    expect(resolved.filter((q) => /^\s*select/i.test(q))).toEqual([])
    expect(statesOf(t.app)).toEqual([])
    expect(await tick(t.app, next(), [sample(0, { case: 'hot' })])).toEqual([])
  })

  it('follows rules created, edited and deleted and silences added through the API on this instance', async () => {
    const rule = { name: 'Local', signal: 'test_signal', op: '>', threshold: 3, severity: 'info' }
    expect((await call('POST', '/api/alerts/rules', rule)).statusCode).toBe(201)
    await tick(t.app, next(), [sample(4, { case: 'local' })])
    expect(statesOf(t.app)).toEqual(['Local:firing', 'TestHigh:firing'])

    expect((await call('PUT', '/api/alerts/rules/Local', { ...rule, threshold: 10 })).statusCode).toBe(200)
    await tick(t.app, next(), [sample(4, { case: 'local' })])
    expect(statesOf(t.app)).toEqual(['TestHigh:firing'])

    const silence = await call('POST', '/api/silences', {
      matchers: [{ name: 'case', op: '=', value: 'muted' }],
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      comment: 'working-set test',
    })
    expect(silence.statusCode).toBe(201)
    await tick(t.app, next(), [sample(4, { case: 'local' }), sample(4, { case: 'muted' })])
    const states = t.app.alerts.evaluator.workingSet()!.states
    expect(states.find((s) => s.labels.case === 'muted')).toMatchObject({ state: 'firing', lastNotifiedAt: null })
    expect(states.find((s) => s.labels.case === 'local')?.lastNotifiedAt).not.toBeNull()

    expect((await call('DELETE', '/api/alerts/rules/Local')).statusCode).toBe(200)
    expect((await call('DELETE', '/api/alerts/rules/TestHigh')).statusCode).toBe(200)
    await tick(t.app, next(), [sample(40, { case: 'local' })])
    expect(statesOf(t.app)).toEqual([])
  })
})

if (real?.redisUrl) {
  const backend: Backend = real
  describe('evaluation from memory across instances (postgres+redis)', () => {
    const schema = uniqueName('wset')
    const cachePrefix = `ccp-test:${uniqueName('wset')}:`
    const adminToken = generateToken()
    const apps: TestApp[] = []
    let leader: TestApp
    let other: TestApp
    let clock = Date.now()
    const next = () => (clock = Math.max(clock + 1000, Date.now()))
    const start = async (id: string) => {
      const t = await createTestApp(backend, {
        schema,
        cachePrefix,
        keepData: true,
        env: {
          ...MANUAL_TICKS,
          ALERT_RULES_FILE: rulesFile('rules: []'),
          INSTANCE_ID: id,
          ADMIN_TOKEN: adminToken,
          LEADER_LOCK_TTL_MS: '30000',
        },
      })
      apps.push(t)
      return t
    }
    const call = (method: 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
      other.app.inject({ method, url, payload, headers: other.auth() })
    const leaderRule = (name: string) => leader.app.alerts.evaluator.workingSet()?.rules.find((r) => r.name === name)

    beforeAll(async () => {
      leader = await start('wset-b')
      await lead(leader.app)
      other = await start('wset-a')
      expect(await other.app.fleet.leader.attempt()).toBe(false)
      await leader.app.alerts.evaluator.idle()
    }, 60_000)
    afterAll(async () => {
      for (const t of apps) await t.app.close().catch(() => {})
      await dropTestData(backend, { schema, cachePrefix })
    })

    it('a rule created, edited and deleted and a silence added on instance A take effect on leader B', async () => {
      expect(leader.app.fleet.isLeader()).toBe(true)
      expect(other.app.alerts.evaluator.workingSet()).toBeNull()
      const rule = { name: 'Remote', signal: 'test_signal', op: '>', threshold: 1, severity: 'warning' }

      expect((await call('POST', '/api/alerts/rules', rule)).statusCode).toBe(201)
      await waitFor('B to load the new rule', () => leaderRule('Remote'))
      expect(await tick(leader.app, next(), [sample(5, { case: 'a' })])).not.toEqual([])
      expect(statesOf(leader.app)).toEqual(['Remote:firing'])

      expect((await call('PUT', '/api/alerts/rules/Remote', { ...rule, threshold: 10 })).statusCode).toBe(200)
      await waitFor('B to load the edited rule', () => leaderRule('Remote')?.threshold === 10)
      await tick(leader.app, next(), [sample(5, { case: 'a' })])
      expect(statesOf(leader.app)).toEqual([])

      const silence = await call('POST', '/api/silences', {
        matchers: [{ name: 'case', op: '=', value: 'b' }],
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
        comment: 'remote silence',
      })
      expect(silence.statusCode).toBe(201)
      const silenceId = silence.json().silence.id
      await waitFor('B to load the silence', () =>
        leader.app.alerts.evaluator.workingSet()?.silences.some((s) => s.id === silenceId),
      )
      expect((await call('PUT', '/api/alerts/rules/Remote', rule)).statusCode).toBe(200)
      await waitFor('B to load the rule back at 1', () => leaderRule('Remote')?.threshold === 1)
      await tick(leader.app, next(), [sample(5, { case: 'a' }), sample(5, { case: 'b' })])
      const states = leader.app.alerts.evaluator.workingSet()!.states
      expect(states.find((s) => s.labels.case === 'a')).toMatchObject({ state: 'firing' })
      expect(states.find((s) => s.labels.case === 'a')?.lastNotifiedAt).not.toBeNull()
      expect(states.find((s) => s.labels.case === 'b')).toMatchObject({ state: 'firing', lastNotifiedAt: null })

      expect((await call('DELETE', '/api/alerts/rules/Remote')).statusCode).toBe(200)
      await waitFor('B to drop the deleted rule', () => leaderRule('Remote') === undefined)
      await tick(leader.app, next(), [sample(5, { case: 'a' })])
      expect(statesOf(leader.app)).toEqual([])
      // A never evaluated: it is not the leader, so it keeps nothing in memory.
      expect(other.app.alerts.evaluator.workingSet()).toBeNull()
    })
  })
}
