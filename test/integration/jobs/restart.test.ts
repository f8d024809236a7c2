import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { backends, createTestApp, dropTestData, uniqueName } from '../../helpers/app.js'
import { waitFor } from '../../helpers/wait.js'

describe.each(backends)('jobs across a restart ($name)', (backend) => {
  // The same store for both lives of the app: a schema on Postgres, a directory for PGlite.
  const store = {
    schema: uniqueName('test'),
    cachePrefix: `ccp-test:${uniqueName('p')}:`,
    dataDir: mkdtempSync(join(tmpdir(), 'ccp-restart-')),
  }
  afterAll(async () => {
    await dropTestData(backend, { schema: store.schema, cachePrefix: store.cachePrefix })
    rmSync(store.dataDir, { recursive: true, force: true })
  })

  // Two app starts on an on-disk PGlite: slow on a busy machine.
  it(
    'keeps a pause and a schedule change, and catches up a daily job missed while down',
    { timeout: 120_000 },
    async () => {
      const first = await createTestApp(backend, { ...store, keepData: true })
      try {
        expect((await first.request('POST', '/api/jobs/cache-warm/pause')).statusCode).toBe(200)
        const schedule = await first.request('PUT', '/api/jobs/index-maintenance/schedule', { schedule: '0 0 2 * * 0' })
        expect(schedule.statusCode).toBe(200)
        // retention last succeeded three days ago: the instance was down over two of its nightly runs.
        await first.app.db
          .insertInto('job_runs')
          .values({
            job: 'retention',
            trigger: 'schedule',
            instance: 'before',
            status: 'success',
            params: '{}',
            started_at: new Date(Date.now() - 3 * 86_400_000),
          })
          .execute()
      } finally {
        await first.close()
      }

      const second = await createTestApp(backend, { ...store, keepData: true })
      try {
        const jobs = (await second.request('GET', '/api/jobs')).json().jobs as Array<Record<string, unknown>>
        expect(jobs.find((j) => j.name === 'cache-warm')).toMatchObject({ paused: true, nextRunAt: null })
        expect(jobs.find((j) => j.name === 'index-maintenance')).toMatchObject({
          schedule: '0 0 2 * * 0',
          scheduleSource: 'api',
        })
        const catchUp = await waitFor('the retention catch-up run', async () => {
          const runs = (await second.request('GET', '/api/jobs/retention/runs')).json().runs
          return runs.find(
            (r: { trigger: string; status: string }) => r.trigger === 'catch-up' && r.status !== 'running',
          )
        })
        expect(catchUp).toMatchObject({ status: 'success', instance: second.config.instanceId })
        // vacuum-analyze never ran: a fresh install waits for its schedule.
        const vacuumRuns = (await second.request('GET', '/api/jobs/vacuum-analyze/runs')).json().runs
        expect(vacuumRuns).toEqual([])
      } finally {
        await second.close()
      }
    },
  )
})
