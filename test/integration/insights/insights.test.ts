import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, createTestApp, createToken, type TestApp, useTestApp } from '../../helpers/app.js'
import { finishedRun } from '../../helpers/jobs.js'
import { waitFor } from '../../helpers/wait.js'

describe.each(backends)('Postgres insights ($name)', (backend) => {
  let t: TestApp
  let viewer: Record<string, string>
  beforeAll(async () => {
    t = await createTestApp(backend, { env: { VACUUM_MIN_DEAD_TUPLES: '100', INDEX_UNUSED_MIN_BYTES: '65536' } })
    const { secret } = await t.app.tokens.create({ name: 'viewer', role: 'viewer', createdBy: 'test' })
    viewer = t.auth(secret)
  })
  afterAll(async () => t?.close())

  const schema = () => t.app.database.schema
  const table = (name: string) => sql.id(schema(), name)
  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: viewer })

  it('gives an overview with each check judged ok, warn or critical', async () => {
    const res = await get('/api/db/overview')
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.database).toMatchObject({ kind: backend.databaseUrl ? 'postgres' : 'pglite', schema: schema() })
    expect(body.database.databaseBytes).toBeGreaterThan(0)
    expect(body.database.schemaBytes).toBeGreaterThan(0)
    expect(body.database.maxConnections).toBeGreaterThan(0)
    expect(body.checks.map((c: { name: string }) => c.name)).toEqual([
      'connections',
      'cache_hit_rate',
      'wraparound',
      'long_running_queries',
      'idle_in_transaction',
    ])
    for (const check of body.checks) expect(['ok', 'warn', 'critical']).toContain(check.status)
    expect(['ok', 'warn', 'critical']).toContain(body.status)
  })

  it('lists only our tables, with sizes, rows and dead tuples', async () => {
    const res = await get('/api/db/tables')
    expect(res.statusCode).toBe(200)
    const names = res.json().tables.map((r: { name: string }) => r.name)
    expect(names).toEqual(expect.arrayContaining(['job_runs', 'messages', 'api_tokens']))
    const tokens = res.json().tables.find((r: { name: string }) => r.name === 'api_tokens')
    expect(tokens.totalBytes).toBeGreaterThan(0)
    expect(tokens).toHaveProperty('deadRatio')
    expect(tokens).toHaveProperty('lastAutovacuum')
  })

  it('flags an unused index and an invalid one', async () => {
    await sql`create table ${table('wide')} (id int primary key, label text)`.execute(t.app.db)
    await sql`insert into ${table('wide')} select g, md5(g::text) from generate_series(1, 5000) g`.execute(t.app.db)
    await sql`create index ${sql.id('wide_label_idx')} on ${table('wide')} (label)`.execute(t.app.db)
    await sql`create table ${table('dupes')} (code int)`.execute(t.app.db)
    await sql`insert into ${table('dupes')} values (1), (1)`.execute(t.app.db)
    await expect(
      sql`create unique index concurrently ${sql.id('dupes_code_key')} on ${table('dupes')} (code)`.execute(t.app.db),
    ).rejects.toThrow()

    const res = await get('/api/db/indexes')
    expect(res.statusCode).toBe(200)
    const indexes = res.json().indexes as Array<Record<string, unknown>>
    expect(indexes.find((i) => i.name === 'wide_label_idx')).toMatchObject({
      table: 'wide',
      unused: true,
      valid: true,
      scans: 0,
      unique: false,
    })
    // The primary key is never "unused": it enforces a constraint.
    expect(indexes.find((i) => i.name === 'wide_pkey')).toMatchObject({ unused: false, primary: true })
    expect(indexes.find((i) => i.name === 'dupes_code_key')).toMatchObject({ valid: false, building: false })
    expect(indexes.every((i) => typeof i.definition === 'string')).toBe(true)
  })

  it('shows top queries when pg_stat_statements is loaded, and how to enable it when not', async () => {
    const res = await get('/api/db/queries?limit=5')
    expect(res.statusCode).toBe(200)
    const body = res.json()
    if (body.available) {
      expect(body.queries.length).toBeGreaterThan(0)
      expect(body.queries.length).toBeLessThanOrEqual(5)
      expect(body.queries[0]).toHaveProperty('totalMs')
      const totals = body.queries.map((q: { totalMs: number }) => q.totalMs)
      expect([...totals].sort((a, b) => b - a)).toEqual(totals)
    } else {
      expect(body.howToEnable).toMatch(/shared_preload_libraries/)
      expect(body.reason).toMatch(/pg_stat_statements/)
    }
    // PGlite ships it loaded; the test Postgres does not preload it.
    expect(body.available).toBe(!backend.databaseUrl)
    expect((await get('/api/db/queries?limit=0')).statusCode).toBe(400)
  })

  it('lists activity and refuses to cancel unknown pids or the connection asking', async () => {
    const res = await get('/api/db/activity')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ longQuerySeconds: 60 })
    for (const key of ['running', 'longRunning', 'blocked', 'idleInTransaction'])
      expect(Array.isArray(res.json()[key])).toBe(true)

    const unknown = await t.request('POST', '/api/db/activity/2147483000/cancel')
    expect(unknown.statusCode).toBe(404)
    expect((await t.request('POST', '/api/db/activity/abc/cancel')).statusCode).toBe(400)
    expect((await t.app.inject({ method: 'POST', url: '/api/db/activity/1/cancel', headers: viewer })).statusCode).toBe(
      403,
    )
    if (!backend.databaseUrl) {
      // PGlite has one session: the service's own.
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(t.app.db)
      const self = await t.request('POST', `/api/db/activity/${rows[0]!.pid}/cancel`)
      expect(self.statusCode).toBe(409)
    }
  })

  it('optimize starts a vacuum-analyze run that brings dead tuples down and repairs invalid indexes', async () => {
    await t.app.db.connection().execute(async (conn) => {
      await sql`create table ${table('churn')} (id int primary key, payload text)`.execute(conn)
      await sql`insert into ${table('churn')} select g, repeat('y', 100) from generate_series(1, 3000) g`.execute(conn)
      await sql`delete from ${table('churn')} where id > 1000`.execute(conn)
      await sql`select pg_stat_force_next_flush()`.execute(conn)
      await sql`select 1`.execute(conn)
    })
    await sql`delete from ${table('dupes')}`.execute(t.app.db)
    const res = await t.request('POST', '/api/db/optimize')
    expect(res.statusCode).toBe(202)
    expect(res.json()).toMatchObject({ job: 'vacuum-analyze', status: 'running' })
    const run = await finishedRun(t.app, 'vacuum-analyze', res.json().runId)
    expect(run).toMatchObject({ status: 'success', trigger: 'manual', params: { repairInvalidIndexes: true } })
    const churn = (
      run.output!.vacuumed as Array<{ table: string; deadTuplesBefore: number; deadTuplesAfter: number }>
    ).find((v) => v.table === 'churn')!
    expect(churn.deadTuplesBefore).toBeGreaterThanOrEqual(2_000)
    expect(churn.deadTuplesAfter).toBeLessThan(churn.deadTuplesBefore)
    expect(run.output!.indexes).toMatchObject({
      repaired: [expect.objectContaining({ index: 'dupes_code_key', error: null })],
    })
    const audit = await t.request('GET', '/api/audit?action=db.optimize')
    expect(audit.json().entries[0]).toMatchObject({ action: 'db.optimize', detail: { runId: run.id } })
    const tables = (await get('/api/db/tables')).json().tables as Array<{
      name: string
      deadTuples: number
      lastVacuum: string | null
    }>
    expect(tables.find((r) => r.name === 'churn')).toMatchObject({ deadTuples: churn.deadTuplesAfter })
    expect(tables.find((r) => r.name === 'churn')!.lastVacuum).not.toBeNull()
  })

  it('keeps the admin actions for admins', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/api/db/optimize', headers: viewer })).statusCode).toBe(403)
  })
})

describe.each(backends.filter((b) => b.databaseUrl))('cancelling queries ($name)', (backend) => {
  const t = useTestApp(backend)

  it('cancels a long query of ours, audited, and refuses one on another database', async () => {
    const sleeper = new pg.Client({ connectionString: backend.databaseUrl, application_name: 'insights-test-sleeper' })
    const elsewhere = new pg.Client({
      connectionString: backend.databaseUrl!.replace(/\/[^/]+$/, '/postgres'),
      application_name: 'insights-test-elsewhere',
    })
    await sleeper.connect()
    await elsewhere.connect()
    try {
      const sleeperPid = (await sleeper.query('select pg_backend_pid() as pid')).rows[0].pid as number
      const elsewherePid = (await elsewhere.query('select pg_backend_pid() as pid')).rows[0].pid as number
      const sleeping = sleeper.query('select pg_sleep(30)')
      sleeping.catch(() => undefined)
      await waitFor('the sleeping query to show as running', async () => {
        const res = await t.request('GET', '/api/db/activity')
        return res
          .json()
          .running.find((b: { pid: number; query: string }) => b.pid === sleeperPid && b.query.includes('pg_sleep'))
      })

      const refused = await t.request('POST', `/api/db/activity/${elsewherePid}/cancel`)
      expect(refused.statusCode).toBe(403)
      expect(refused.json().error.message).toMatch(/not connected to this service's database/)

      const res = await t.request('POST', `/api/db/activity/${sleeperPid}/cancel`)
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({ pid: sleeperPid, cancelled: true })
      await expect(sleeping).rejects.toThrow(/canceling statement due to user request/)
      const audit = await t.request('GET', '/api/audit?action=db.cancel')
      expect(audit.json().entries[0]).toMatchObject({ target: String(sleeperPid), detail: { cancelled: true } })
    } finally {
      await sleeper.end()
      await elsewhere.end()
    }
  })
})

describe.each(backends.filter((b) => b.databaseUrl))('activity of other database roles ($name)', (backend) => {
  const t = useTestApp(backend)
  const role = `ccp_other_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: backend.databaseUrl })
  let other: pg.Client | undefined
  beforeAll(async () => {
    await admin.connect()
    // Trust authentication: a role with LOGIN can connect without a password.
    await admin.query(`create role ${role} login`)
  })
  afterAll(async () => {
    await other?.end().catch(() => undefined)
    await admin.query(`drop role if exists ${role}`)
    await admin.end()
  })

  it('hides the query text of another role’s session from viewers, saying why; admins see it', async () => {
    const url = new URL(backend.databaseUrl!)
    url.username = role
    other = new pg.Client({ connectionString: url.toString(), application_name: 'insights-test-other-role' })
    await other.connect()
    const otherPid = (await other.query('select pg_backend_pid() as pid')).rows[0].pid as number
    other.query('select pg_sleep(30) /* the other role’s secret */').catch(() => undefined)
    const { secret } = await createToken(t, 'viewer')
    const running = async (token?: string) => {
      const res = await t.request('GET', '/api/db/activity', undefined, { token })
      expect(res.statusCode).toBe(200)
      return res.json().running.find((b: { pid: number }) => b.pid === otherPid)
    }
    await waitFor('the other role’s query to show as running', async () =>
      (await running())?.query?.includes('pg_sleep'),
    )
    const seenByViewer = await running(secret)
    expect(seenByViewer).toMatchObject({
      pid: otherPid,
      user: role,
      state: 'active',
      query: null,
      queryHidden: 'other_role',
    })
    const seenByAdmin = await running()
    expect(seenByAdmin).toMatchObject({
      user: role,
      query: expect.stringContaining('the other role’s secret'),
      queryHidden: null,
    })

    // The viewer still sees the text of the service's own sessions.
    const own = (await t.request('GET', '/api/db/activity', undefined, { token: secret })).json()
    for (const b of [...own.running, ...own.idleInTransaction] as Array<{
      user: string
      query: string | null
      queryHidden: string | null
    }>)
      if (b.user !== role) expect(b.queryHidden).toBeNull()
    await admin.query('select pg_cancel_backend($1)', [otherPid])
  })
})
