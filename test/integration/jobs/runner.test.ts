import { describe, expect, it } from 'vitest'
import { JobFailure } from '../../../server/jobs/attempt.js'
import type { JobDefinition } from '../../../server/jobs/types.js'
import { backends, useTestApp } from '../../helpers/app.js'
import { finishedRun } from '../../helpers/jobs.js'

/** Never fires during a test: these jobs run when the test says so. */
const YEARLY = '0 0 0 1 1 *'

function testJob(name: string, run: JobDefinition['run'], extra: Partial<JobDefinition> = {}): JobDefinition {
  return { name, description: `test job ${name}`, schedule: YEARLY, timeoutMs: 10_000, backoffMs: 10, run, ...extra }
}

describe.each(backends)('job runner ($name)', (backend) => {
  const t = useTestApp(backend)

  it('skips a run while another run of the job is going, and records the skip', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    t.app.jobs.define(testJob('overlap', async () => (await gate, { done: true })))
    const first = (await t.app.jobs.run('overlap', { trigger: 'manual' }))!
    expect(first.status).toBe('running')
    const second = (await t.app.jobs.run('overlap', { trigger: 'manual' }))!
    expect(second.status).toBe('skipped')
    const skipped = await t.app.jobs.repo.get('overlap', second.runId)
    expect(skipped).toMatchObject({ status: 'skipped', duration_ms: 0 })
    expect(skipped!.error).toMatch(/already in progress/)
    release()
    await first.done
    expect(await t.app.jobs.repo.get('overlap', first.runId)).toMatchObject({
      status: 'success',
      output: { done: true },
    })
  })

  it('aborts a run at its timeout through the AbortSignal and records the timeout', async () => {
    let sawAbort = false
    t.app.jobs.define(
      testJob(
        'slow',
        (_ctx, signal) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => {
              sawAbort = true
              reject(signal.reason)
            })
          }),
        { timeoutMs: 200, attempts: 1 },
      ),
    )
    const started = (await t.app.jobs.run('slow', { trigger: 'manual' }))!
    await started.done
    const run = await t.app.jobs.repo.get('slow', started.runId)
    expect(run).toMatchObject({ status: 'timeout', attempt: 1, error: 'timed out after 200 ms' })
    expect(sawAbort).toBe(true)
  })

  it('retries a failing run with backoff until it succeeds', async () => {
    const attempts: number[] = []
    t.app.jobs.define(
      testJob('flaky', async (ctx) => {
        attempts.push(ctx.attempt)
        if (ctx.attempt < 3) throw new Error(`flake ${ctx.attempt}`)
        return { attempt: ctx.attempt }
      }),
    )
    const started = (await t.app.jobs.run('flaky', { trigger: 'manual' }))!
    await started.done
    expect(attempts).toEqual([1, 2, 3])
    expect(await t.app.jobs.repo.get('flaky', started.runId)).toMatchObject({
      status: 'success',
      attempt: 3,
      output: { attempt: 3 },
      error: null,
    })
  })

  it('gives up after the last attempt, keeps the error, and reports job_failing', async () => {
    t.app.jobs.define(testJob('broken', async () => Promise.reject(new Error('always broken')), { attempts: 2 }))
    const started = (await t.app.jobs.run('broken', { trigger: 'manual' }))!
    await started.done
    expect(await t.app.jobs.repo.get('broken', started.runId)).toMatchObject({
      status: 'failed',
      attempt: 2,
      error: 'always broken',
    })
    const snapshot = await t.app.sampler.tick()
    const failing = snapshot.signals.filter((s) => s.name === 'job_failing')
    expect(failing.find((s) => s.labels.job === 'broken')?.value).toBe(1)
    expect(failing.find((s) => s.labels.job === 'flaky')?.value).toBe(0)
    const runs = await t.app.metrics.jobRunsTotal.get()
    expect(runs.values.find((v) => v.labels.job === 'broken' && v.labels.status === 'failed')?.value).toBe(1)
  })

  it('does not retry a failure the job declares permanent', async () => {
    let calls = 0
    t.app.jobs.define(
      testJob(
        'permanent',
        async () => (calls++, Promise.reject(new JobFailure('duplicates in a unique index', { tried: 1 }, false))),
      ),
    )
    const started = (await t.app.jobs.run('permanent', { trigger: 'manual' }))!
    await started.done
    expect(calls).toBe(1)
    expect(await t.app.jobs.repo.get('permanent', started.runId)).toMatchObject({
      status: 'failed',
      attempt: 1,
      output: { tried: 1 },
    })
  })

  it('keeps the progress report of a run that timed out', async () => {
    t.app.jobs.define(
      testJob(
        'reporting',
        async (ctx, signal) => {
          ctx.progress({ tablesDone: 2 })
          await new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
          return {}
        },
        { timeoutMs: 150, attempts: 1 },
      ),
    )
    const started = (await t.app.jobs.run('reporting', { trigger: 'manual' }))!
    const run = await finishedRun(t.app, 'reporting', started.runId)
    expect(run).toMatchObject({ status: 'timeout', output: { tablesDone: 2 } })
  })
})
