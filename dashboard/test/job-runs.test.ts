import { afterEach, describe, expect, it } from 'vitest'
import { RunFollower } from '../src/features/jobs/job-runs.svelte.js'
import { fakeDashboard, ok, progressOf, type FakeDashboard } from './fake-dashboard.js'

const RUN_ID = '7b70bfc6-b580-4bf8-a869-49c00dc73bec'
const base = { runId: RUN_ID, job: 'vacuum-analyze', trigger: 'manual', instance: 'test-1', attempt: 1 }
const storedRun = (status: string, output: unknown, extra: Record<string, unknown> = {}) => ({
  run: {
    id: RUN_ID,
    job: 'vacuum-analyze',
    trigger: 'manual',
    instance: 'test-1',
    params: {},
    status,
    attempt: 1,
    started_at: '2026-11-21T10:00:00.000Z',
    finished_at: status === 'running' ? null : '2026-11-21T10:00:01.000Z',
    duration_ms: status === 'running' ? null : 1234,
    error: null,
    output,
    ...extra,
  },
})

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5))
}

describe('RunFollower', () => {
  let fake: FakeDashboard
  afterEach(() => fake?.close())

  it('keeps events that arrive before the start request answers, then follows progress to the stored report', async () => {
    fake = fakeDashboard('admin', {
      [`GET /api/jobs/vacuum-analyze/runs/${RUN_ID}`]: ok(
        storedRun('success', { deadTuplesBefore: 9, deadTuplesAfter: 0 }),
      ),
    })
    const follower = new RunFollower(fake.dashboard.api, fake.dashboard.live)
    let answer!: (v: { runId: string; job: string; status: 'running' }) => void
    const started = follower.start('vacuum-analyze', () => new Promise((r) => (answer = r)))
    // The server announces the run before its 202 reaches the page.
    fake.emit({ type: 'job', data: { ...base, type: 'started', status: 'running', at: 1 } })
    fake.emit(progressOf(base, 2, { step: 'vacuum', table: 'messages', done: 0, total: 2 }))
    expect(follower.run).toBeNull()
    answer({ runId: RUN_ID, job: 'vacuum-analyze', status: 'running' })
    await started
    expect(follower.run).toMatchObject({ status: 'running', progress: { table: 'messages', done: 0, total: 2 } })

    fake.emit(progressOf(base, 3, { step: 'vacuum', table: 'sessions', done: 1, total: 2 }))
    expect(follower.run?.progress).toEqual({ step: 'vacuum', table: 'sessions', done: 1, total: 2 })

    fake.emit({
      type: 'job',
      data: { ...base, type: 'finished', status: 'success', at: 4, durationMs: 1200, report: { deadTuplesBefore: 9 } },
    })
    expect(follower.run?.status).toBe('success')
    // The stored run replaces what the event said.
    await until(() => follower.run?.durationMs === 1234)
    expect(follower.run).toMatchObject({
      report: { deadTuplesBefore: 9, deadTuplesAfter: 0 },
      finishedAt: '2026-11-21T10:00:01.000Z',
    })
    follower.stop()
  })

  it('ignores events of other runs and jobs', async () => {
    fake = fakeDashboard('admin', { [`GET /api/jobs/vacuum-analyze/runs/${RUN_ID}`]: ok(storedRun('running', null)) })
    const follower = new RunFollower(fake.dashboard.api, fake.dashboard.live)
    await follower.start('vacuum-analyze', async () => ({ runId: RUN_ID, job: 'vacuum-analyze', status: 'running' }))
    fake.emit({
      type: 'job',
      data: { ...base, job: 'cache-warm', runId: 'other', type: 'finished', status: 'failed', at: 5, error: 'boom' },
    })
    fake.emit({
      type: 'job',
      data: { ...base, runId: 'older-run', type: 'finished', status: 'failed', at: 5, error: 'boom' },
    })
    expect(follower.run).toMatchObject({ status: 'running', error: null })
    follower.stop()
  })

  it('says when the request was skipped because a run was already going', async () => {
    fake = fakeDashboard('admin', {
      [`GET /api/jobs/vacuum-analyze/runs/${RUN_ID}`]: ok(
        storedRun('skipped', null, { error: 'a run of vacuum-analyze is already in progress' }),
      ),
    })
    const follower = new RunFollower(fake.dashboard.api, fake.dashboard.live)
    const started = await follower.start('vacuum-analyze', async () => ({
      runId: RUN_ID,
      job: 'vacuum-analyze',
      status: 'skipped',
    }))
    expect(started.status).toBe('skipped')
    await until(() => follower.run?.error !== null)
    expect(follower.run).toMatchObject({ status: 'skipped', error: 'a run of vacuum-analyze is already in progress' })
  })

  it('forgets the run and rethrows when the start request fails', async () => {
    fake = fakeDashboard('viewer')
    const follower = new RunFollower(fake.dashboard.api, fake.dashboard.live)
    await expect(follower.start('vacuum-analyze', () => fake.dashboard.api.post('/api/db/optimize'))).rejects.toThrow(
      'not found',
    )
    expect(follower.run).toBeNull()
  })
})
