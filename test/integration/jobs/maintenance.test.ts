import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { indexMaintenanceJob } from '../../../server/insights/maintenance/index-maintenance.js'
import { retentionJob } from '../../../server/insights/maintenance/retention.js'
import type { JobEvent } from '../../../server/jobs/types.js'
import { backends, useTestApp } from '../../helpers/app.js'
import { runThroughApi } from '../../helpers/jobs.js'

/** Names a careless implementation would break: quotes, spaces, a dot, a semicolon. */
const ODD_TABLE = 'we"ird tab.le; drop'
const ODD_INDEX = 'odd "idx"; --'

describe.each(backends)('maintenance jobs ($name)', (backend) => {
  const t = useTestApp(backend, { env: { VACUUM_MIN_DEAD_TUPLES: '100' } })

  const table = (name: string) => sql.id(t.app.database.schema, name)

  /** Inserts then deletes half the rows on one connection, and makes the statistics visible. */
  async function bloat(name: string, rows = 4_000): Promise<void> {
    await t.app.db.connection().execute(async (conn) => {
      await sql`create table ${table(name)} (id int primary key, payload text not null)`.execute(conn)
      await sql`insert into ${table(name)} select g, repeat('x', 200) from generate_series(1, ${rows}) g`.execute(conn)
      await sql`delete from ${table(name)} where id % 2 = 0`.execute(conn)
      await sql`select pg_stat_force_next_flush()`.execute(conn)
      await sql`select 1`.execute(conn)
    })
  }

  async function deadTuples(name: string): Promise<number> {
    const { rows } = await sql<{
      dead: string
    }>`select n_dead_tup as dead from pg_stat_user_tables where schemaname = ${t.app.database.schema} and relname = ${name}`.execute(
      t.app.db,
    )
    return Number(rows[0]?.dead ?? -1)
  }

  it('vacuum-analyze brings the dead tuples of a bloated table down, even one with an odd name', async () => {
    await bloat('bloated')
    await bloat(ODD_TABLE)
    expect(await deadTuples('bloated')).toBeGreaterThanOrEqual(2_000)
    const run = await runThroughApi(t, 'vacuum-analyze')
    expect(run.status).toBe('success')
    const vacuumed = run.output!.vacuumed as Array<{
      table: string
      deadTuplesBefore: number
      deadTuplesAfter: number
      error: null
    }>
    for (const name of ['bloated', ODD_TABLE]) {
      const entry = vacuumed.find((v) => v.table === name)
      expect(entry, name).toBeDefined()
      expect(entry!.deadTuplesBefore).toBeGreaterThanOrEqual(2_000)
      expect(entry!.deadTuplesAfter).toBeLessThan(entry!.deadTuplesBefore)
      expect(await deadTuples(name)).toBe(entry!.deadTuplesAfter)
    }
    expect(run.output!.deadTuplesAfter as number).toBeLessThan(run.output!.deadTuplesBefore as number)
  })

  it('index-maintenance rebuilds an invalid index (odd name included) once the cause is gone', async () => {
    await sql`create table ${table('dupes')} (id int, code int)`.execute(t.app.db)
    await sql`insert into ${table('dupes')} select g, g % 10 from generate_series(1, 100) g`.execute(t.app.db)
    // A unique index built concurrently over duplicates fails and stays behind, invalid.
    await expect(
      sql`create unique index concurrently ${sql.id(ODD_INDEX)} on ${table('dupes')} (code)`.execute(t.app.db),
    ).rejects.toThrow()
    const validity = async () => {
      const { rows } = await sql<{
        valid: boolean
      }>`select x.indisvalid as valid from pg_index x join pg_class c on c.oid = x.indexrelid
        join pg_namespace n on n.oid = c.relnamespace where n.nspname = ${t.app.database.schema} and c.relname = ${ODD_INDEX}`.execute(
        t.app.db,
      )
      return rows[0]?.valid
    }
    expect(await validity()).toBe(false)

    // While the duplicates remain, the repair fails and the run says so.
    const failing = await runThroughApi(t, 'index-maintenance')
    expect(failing.status).toBe('failed')
    expect(failing.error).toContain(ODD_INDEX)
    const repairs = (failing.output!.invalid as { repaired: Array<{ index: string; error: string | null }> }).repaired
    expect(repairs.find((r) => r.index === ODD_INDEX)?.error).toMatch(/duplicate|could not create/i)

    await sql`delete from ${table('dupes')} where id > 10`.execute(t.app.db)
    const fixed = await runThroughApi(t, 'index-maintenance')
    expect(fixed.status).toBe('success')
    expect((fixed.output!.invalid as { repaired: Array<{ index: string; error: null }> }).repaired).toContainEqual(
      expect.objectContaining({ index: ODD_INDEX, error: null }),
    )
    expect(await validity()).toBe(true)
  })

  it('index-maintenance recreates a missing required index and reports unused and duplicate ones without dropping them', async () => {
    await sql`drop index ${sql.id(t.app.database.schema, 'analytics_events_type_created_idx')}`.execute(t.app.db)
    await sql`create index ${sql.id('analytics_events_type_idx')} on ${table('analytics_events')} (type)`.execute(
      t.app.db,
    )
    const run = await runThroughApi(t, 'index-maintenance')
    expect(run.status).toBe('success')
    expect(run.output!.created).toContainEqual(
      expect.objectContaining({ index: 'analytics_events_type_created_idx', error: null }),
    )
    expect(run.output!.duplicates).toContainEqual({
      index: 'analytics_events_type_idx',
      coveredBy: 'analytics_events_type_created_idx',
    })
    const { rows } = await sql<{
      name: string
    }>`select indexname as name from pg_indexes where schemaname = ${t.app.database.schema} and tablename = 'analytics_events'`.execute(
      t.app.db,
    )
    expect(rows.map((r) => r.name)).toEqual(
      expect.arrayContaining(['analytics_events_type_created_idx', 'analytics_events_type_idx']),
    )
  })

  it('index-maintenance rebuilds a b-tree index bloated past the thresholds', async () => {
    await t.app.db.connection().execute(async (conn) => {
      await sql`create table ${table('shrunk')} (id int primary key, v text)`.execute(conn)
      await sql`insert into ${table('shrunk')} select g, 'v' from generate_series(1, 20000) g`.execute(conn)
      await sql`delete from ${table('shrunk')} where id > 500`.execute(conn)
      await sql`vacuum (analyze) ${table('shrunk')}`.execute(conn)
    })
    const pages = async () => {
      const { rows } = await sql<{
        pages: number
      }>`select c.relpages as pages from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = ${t.app.database.schema} and c.relname = 'shrunk_pkey'`.execute(t.app.db)
      return Number(rows[0]!.pages)
    }
    const before = await pages()
    const job = indexMaintenanceJob({
      database: t.app.database,
      maintenance: {
        ...t.config.maintenance,
        indexes: {
          bloatRatio: 0.5,
          bloatMinBytes: 8192 * 10,
          unusedMinBytes: t.config.maintenance.indexes.unusedMinBytes,
        },
      },
    })
    const started = (await t.app.jobs.runner.start({ ...job, name: 'index-maintenance-bloat' }, { trigger: 'manual' }))!
    await started.done
    const run = (await t.app.jobs.repo.get('index-maintenance-bloat', started.runId))!
    expect(run.status).toBe('success')
    expect(run.output!.bloated).toContainEqual(
      expect.objectContaining({ index: 'shrunk_pkey', action: 'reindex', error: null }),
    )
    expect(await pages()).toBeLessThan(before)
  })

  it('retention deletes old history and expired sessions in batches, keeps recent rows, running jobs and undelivered notifications', async () => {
    const now = Date.now()
    const day = 86_400_000
    await sql`insert into ${table('analytics_events')} (type, created_at)
      select 'old', ${new Date(now - 40 * day)}::timestamptz from generate_series(1, 25)`.execute(t.app.db)
    await t.app.db
      .insertInto('analytics_events')
      .values({ type: 'recent', data: '{}', created_at: new Date(now - day) })
      .execute()
    await t.app.db
      .insertInto('job_runs')
      .values([
        {
          job: 'history',
          trigger: 'manual',
          instance: 'x',
          status: 'success',
          params: '{}',
          started_at: new Date(now - 40 * day),
        },
        {
          job: 'history',
          trigger: 'manual',
          instance: 'x',
          status: 'running',
          params: '{}',
          started_at: new Date(now - 40 * day),
        },
      ])
      .execute()
    const alertEvent = (
      ageDays: number,
    ) => sql`insert into ${table('alert_events')} (at, fingerprint, rule_name, severity, from_state, to_state, labels, annotations)
      values (${new Date(now - ageDays * day)}, 'f', 'Rule', 'warning', 'pending', 'firing', '{}', '{}')`
    await alertEvent(100).execute(t.app.db)
    await alertEvent(30).execute(t.app.db)
    const outbox = (
      key: string,
      status: string,
      deliveredDaysAgo: number | null,
    ) => sql`insert into ${table('notification_outbox')}
      (receiver_name, url, reason, group_key, alerts, body, idempotency_key, status, next_attempt_at, expires_at, created_at, delivered_at)
      values ('r', 'http://127.0.0.1/', 'firing', 'g', '[]', '{}', ${key}, ${status}, now(), now(), ${new Date(now - 10 * day)},
              ${deliveredDaysAgo === null ? null : new Date(now - deliveredDaysAgo * day)})`
    await outbox('delivered-old', 'delivered', 8).execute(t.app.db)
    await outbox('delivered-new', 'delivered', 1).execute(t.app.db)
    await outbox('failed-old', 'failed', null).execute(t.app.db)
    const { tokenId } = (await t.request('GET', '/api/auth/me')).json()
    await t.app.db
      .insertInto('dashboard_sessions')
      .values([
        { id_hash: 'expired', token_id: tokenId, expires_at: new Date(now - 60_000) },
        { id_hash: 'current', token_id: tokenId, expires_at: new Date(now + day) },
      ])
      .execute()

    // The real job with small batches, under another name so its own history stays apart.
    const job = retentionJob({
      database: t.app.database,
      maintenance: { ...t.config.maintenance, retentionBatchSize: 10 },
    })
    const batches: unknown[] = []
    const started = (await t.app.jobs.runner.start({ ...job, name: 'retention-small-batches' }, { trigger: 'manual' }))!
    const listener = (e: JobEvent) => e.runId === started.runId && e.type === 'progress' && batches.push(e.report)
    t.app.events.on('job', listener)
    await started.done
    t.app.events.off('job', listener)
    const run = (await t.app.jobs.repo.get('retention-small-batches', started.runId))!
    expect(run.status).toBe('success')
    expect(run.output).toMatchObject({
      deleted: { analytics_events: 25, job_runs: 1, alert_events: 1, notification_outbox: 1, dashboard_sessions: 1 },
      skipped: [],
      batchSize: 10,
    })
    // 25 rows in batches of 10: three statements on analytics_events.
    expect(batches.filter((b) => (b as { table: string }).table === 'analytics_events')).toHaveLength(3)
    const types = await t.app.db.selectFrom('analytics_events').select('type').distinct().execute()
    expect(types.map((r) => r.type)).not.toContain('old')
    expect(types.map((r) => r.type)).toContain('recent')
    const history = await t.app.db.selectFrom('job_runs').select('status').where('job', '=', 'history').execute()
    expect(history).toEqual([{ status: 'running' }])
    const { rows } = await sql<{
      key: string
    }>`select idempotency_key as key from ${table('notification_outbox')} order by 1`.execute(t.app.db)
    expect(rows.map((r) => r.key)).toEqual(['delivered-new', 'failed-old'])
    const sessions = await t.app.db.selectFrom('dashboard_sessions').select('id_hash').execute()
    expect(sessions.map((r) => r.id_hash)).toEqual(['current'])
  })

  it('retention skips a table that does not exist instead of failing', async () => {
    const job = retentionJob({
      database: t.app.database,
      maintenance: t.config.maintenance,
      rules: [{ table: 'not_created_yet', columns: ['at'], days: 1 }],
    })
    const started = (await t.app.jobs.runner.start({ ...job, name: 'retention-missing-table' }, { trigger: 'manual' }))!
    await started.done
    expect(await t.app.jobs.repo.get('retention-missing-table', started.runId)).toMatchObject({
      status: 'success',
      output: { deleted: {}, skipped: [{ table: 'not_created_yet', reason: 'table does not exist' }] },
    })
  })
})
