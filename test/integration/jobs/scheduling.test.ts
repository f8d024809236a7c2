import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLockStore } from '../../../server/infra/locks/lease.js'
import { JobScheduler } from '../../../server/jobs/scheduler.js'
import type { JobDefinition } from '../../../server/jobs/types.js'
import { backends, createTestApp, type TestApp, useTestApp } from '../../helpers/app.js'
import { waitFor } from '../../helpers/wait.js'

const DAILY_AT_3 = '0 0 3 * * *'

/** A second scheduler on the app's store, as another instance would run it. */
function secondScheduler(t: TestApp, instanceId: string): JobScheduler {
  const { app } = t
  return new JobScheduler({
    repo: app.jobs.repo,
    locks: createLockStore({ redis: app.redis, database: app.database, prefix: app.config.cachePrefix, log: app.log }),
    metrics: app.metrics,
    events: app.events,
    log: app.log,
    instanceId,
    envSchedules: {},
    enabled: true,
  })
}

/** A scheduled run as an earlier (now gone) instance left it in job_runs, `ago` ms before `now`. */
async function recordRun(t: TestApp, job: string, status: 'success' | 'running', now: Date, ago: number) {
  await t.app.db
    .insertInto('job_runs')
    .values({
      job,
      trigger: 'schedule',
      instance: 'gone',
      status,
      started_at: new Date(now.getTime() - ago),
      params: '{}',
    })
    .execute()
}

/** A new instance's scheduler with these jobs, started at `now` (its start-up work done) and stopped. */
async function startAndStop(t: TestApp, instanceId: string, jobs: JobDefinition[], now: Date): Promise<void> {
  const scheduler = secondScheduler(t, instanceId)
  for (const job of jobs) scheduler.define(job)
  await scheduler.start(now)
  await scheduler.stop(5_000)
}

async function occurrenceRows(t: TestApp, job: string) {
  return t.app.db
    .selectFrom('job_runs')
    .select(['occurrence_key', 'instance', 'status', 'trigger'])
    .where('job', '=', job)
    .execute()
}

describe.each(backends)('job scheduling ($name)', (backend) => {
  const t = useTestApp(backend)

  it('runs each occurrence once when two schedulers share the store', async () => {
    const calls: string[] = []
    const job: JobDefinition = {
      name: 'every-second',
      description: 'ticks',
      schedule: '* * * * * *',
      timeoutMs: 5_000,
      run: async (ctx) => {
        calls.push(ctx.runId)
        return {}
      },
    }
    const other = secondScheduler(t, 'second-instance')
    other.define(job)
    t.app.jobs.define(job)
    await other.start(new Date())
    try {
      await waitFor('three occurrences', async () =>
        (await occurrenceRows(t, 'every-second')).length >= 3 ? true : undefined,
      )
    } finally {
      await t.app.jobs.pause('every-second', 'test')
      await other.stop(5_000)
    }
    await waitFor('the last run to end', () => (t.app.jobs.runner.isRunning('every-second') ? undefined : true))
    const rows = await occurrenceRows(t, 'every-second')
    const keys = rows.map((r) => r.occurrence_key)
    expect(new Set(keys).size).toBe(rows.length)
    expect(rows.every((r) => r.trigger === 'schedule' && r.status === 'success')).toBe(true)
    expect(calls.length).toBe(rows.length)
  })

  it('catches up once on a job whose last success is older than its period', async () => {
    const calls: string[] = []
    const job: JobDefinition = {
      name: 'nightly',
      description: 'missed while down',
      schedule: DAILY_AT_3,
      timeoutMs: 5_000,
      catchUp: 'once',
      run: async (ctx) => {
        calls.push(ctx.trigger)
        return {}
      },
    }
    const now = new Date()
    await recordRun(t, 'nightly', 'success', now, 2 * 86_400_000)
    // Two instances starting together: one catch-up between them.
    const first = secondScheduler(t, 'starting-1')
    const second = secondScheduler(t, 'starting-2')
    first.define(job)
    second.define(job)
    await Promise.all([first.start(now), second.start(now)])
    try {
      await waitFor('the catch-up run', async () =>
        (await occurrenceRows(t, 'nightly')).find((r) => r.trigger === 'catch-up' && r.status === 'success'),
      )
    } finally {
      await Promise.all([first.stop(5_000), second.stop(5_000)])
    }
    expect(calls).toEqual(['catch-up'])
    expect((await occurrenceRows(t, 'nightly')).filter((r) => r.trigger === 'catch-up')).toHaveLength(1)
  })

  it('does not catch up a job that succeeded within its period, nor one that never ran', async () => {
    const calls: string[] = []
    const make = (name: string): JobDefinition => ({
      name,
      description: 'not missed',
      schedule: DAILY_AT_3,
      timeoutMs: 5_000,
      catchUp: 'once',
      run: async () => (calls.push(name), {}),
    })
    const now = new Date()
    await recordRun(t, 'recent', 'success', now, 3_600_000)
    await startAndStop(t, 'starting-3', [make('recent'), make('fresh-install')], now)
    expect(calls).toEqual([])
  })

  it('marks runs left running by a stopped instance as failed at start', async () => {
    const job: JobDefinition = {
      name: 'crashed',
      description: 'x',
      schedule: DAILY_AT_3,
      timeoutMs: 1_000,
      attempts: 1,
      run: async () => ({}),
    }
    const now = new Date()
    await recordRun(t, 'crashed', 'running', now, 3_600_000)
    await startAndStop(t, 'starting-4', [job], now)
    const [row] = await occurrenceRows(t, 'crashed')
    expect(row).toMatchObject({ status: 'failed' })
  })
})

// Two whole apps on one Postgres schema and Redis prefix: only possible with a real server
// (an embedded PGlite directory is opened by one process at a time).
describe.each(backends.filter((b) => b.databaseUrl))('two instances on one store ($name)', (backend) => {
  let a: TestApp
  let b: TestApp
  beforeAll(async () => {
    a = await createTestApp(backend)
    b = await createTestApp(backend, {
      schema: a.config.database.schema,
      cachePrefix: a.config.cachePrefix,
      keepData: true,
      env: { INSTANCE_ID: 'instance-b' },
    })
  })
  afterAll(async () => {
    await b?.close()
    await a?.close()
  })

  it('runs each scheduled occurrence on one instance only', async () => {
    const calls: string[] = []
    for (const t of [a, b]) {
      t.app.jobs.define({
        name: 'shared-tick',
        description: 'x',
        schedule: '* * * * * *',
        timeoutMs: 5_000,
        run: async (ctx) => (calls.push(ctx.runId), {}),
      })
    }
    try {
      await waitFor('three occurrences', async () =>
        (await occurrenceRows(a, 'shared-tick')).length >= 3 ? true : undefined,
      )
    } finally {
      await a.app.jobs.pause('shared-tick', 'test')
      await b.app.jobs.pause('shared-tick', 'test')
    }
    await waitFor('runs to end', () =>
      a.app.jobs.runner.isRunning('shared-tick') || b.app.jobs.runner.isRunning('shared-tick') ? undefined : true,
    )
    const rows = await occurrenceRows(a, 'shared-tick')
    expect(new Set(rows.map((r) => r.occurrence_key)).size).toBe(rows.length)
    expect(calls.length).toBe(rows.length)
  })

  it('skips a manual run on one instance while the other runs the job', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    a.app.jobs.define({
      name: 'exclusive',
      description: 'x',
      schedule: '0 0 0 1 1 *',
      timeoutMs: 10_000,
      run: async () => (await gate, {}),
    })
    b.app.jobs.define({
      name: 'exclusive',
      description: 'x',
      schedule: '0 0 0 1 1 *',
      timeoutMs: 10_000,
      run: async () => ({}),
    })
    const onA = (await a.app.jobs.run('exclusive', { trigger: 'manual' }))!
    const res = await b.request('POST', '/api/jobs/exclusive/run')
    expect(res.statusCode).toBe(202)
    expect(res.json().status).toBe('skipped')
    const skipped = await b.app.jobs.repo.get('exclusive', res.json().runId)
    expect(skipped).toMatchObject({ status: 'skipped', instance: 'instance-b' })
    expect(skipped!.error).toMatch(/another instance/)
    release()
    await onA.done
  })
})
