import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, createTestApp, type TestApp } from '../../helpers/app.js'
import { runThroughApi } from '../../helpers/jobs.js'
import { waitFor } from '../../helpers/wait.js'

const FIVE_JOBS = ['cache-warm', 'health-check', 'index-maintenance', 'retention', 'vacuum-analyze']

describe.each(backends)('jobs API ($name)', (backend) => {
  let t: TestApp
  let viewer: Record<string, string>
  beforeAll(async () => {
    t = await createTestApp(backend, { env: { JOB_RETENTION_SCHEDULE: '0 45 4 * * *' } })
    const { secret } = await t.app.tokens.create({ name: 'viewer', role: 'viewer', createdBy: 'test' })
    viewer = t.auth(secret)
  })
  afterAll(async () => t?.close())

  it('lists the five jobs with their schedules and next runs to a viewer', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/jobs', headers: viewer })
    expect(res.statusCode).toBe(200)
    const jobs = res.json().jobs as Array<Record<string, unknown>>
    expect(jobs.map((j) => j.name).sort()).toEqual(FIVE_JOBS)
    for (const job of jobs) {
      expect(typeof job.schedule).toBe('string')
      expect(Date.parse(String(job.nextRunAt))).toBeGreaterThan(Date.now() - 1000)
      expect(job.paused).toBe(false)
    }
    const retention = jobs.find((j) => j.name === 'retention')!
    expect(retention).toMatchObject({
      schedule: '0 45 4 * * *',
      scheduleSource: 'env',
      scheduleDescription: 'At 04:45',
    })
    expect(jobs.find((j) => j.name === 'health-check')).toMatchObject({ scope: 'instance', scheduleSource: 'default' })
  })

  it('runs a job on demand: 202 with the run id, then a recorded success with its report, audited', async () => {
    const run = await runThroughApi(t, 'health-check')
    expect(run).toMatchObject({
      job: 'health-check',
      trigger: 'manual',
      status: 'success',
      attempt: 1,
      instance: t.config.instanceId,
    })
    const components = run.output!.components as Array<{ component: string; up: boolean }>
    expect(components.map((c) => c.component)).toEqual(expect.arrayContaining(['database', 'disk', 'event_loop']))
    // The event loop's verdict depends on the machine's load; the stores must answer.
    expect(components.filter((c) => c.component !== 'event_loop').every((c) => c.up)).toBe(true)
    const audit = await t.request('GET', '/api/audit?action=job.run')
    expect(audit.json().entries[0]).toMatchObject({
      action: 'job.run',
      target: 'health-check',
      detail: { runId: run.id },
    })

    const history = await t.app.inject({ method: 'GET', url: '/api/jobs/health-check/runs?limit=5', headers: viewer })
    expect(history.statusCode).toBe(200)
    expect(history.json().runs.map((r: { id: string }) => r.id)).toContain(run.id)
    const one = await t.app.inject({ method: 'GET', url: `/api/jobs/health-check/runs/${run.id}`, headers: viewer })
    expect(one.json().run).toMatchObject({ id: run.id, status: 'success' })
  })

  it('sets health_check_up and the latency gauge for every component', async () => {
    await runThroughApi(t, 'health-check')
    const up = await t.app.metrics.healthCheckUp.get()
    const byComponent = Object.fromEntries(up.values.map((v) => [v.labels.component, v.value]))
    expect(byComponent).toMatchObject({ database: 1, disk: 1 })
    expect([0, 1]).toContain(byComponent.event_loop)
    if (backend.redisUrl) expect(byComponent.redis).toBe(1)
  })

  it('keeps mutations for admins and answers unknown jobs with 404', async () => {
    expect(
      (await t.app.inject({ method: 'POST', url: '/api/jobs/health-check/run', headers: viewer })).statusCode,
    ).toBe(403)
    expect(
      (await t.app.inject({ method: 'POST', url: '/api/jobs/health-check/pause', headers: viewer })).statusCode,
    ).toBe(403)
    const missing = await t.request('POST', '/api/jobs/no-such-job/run')
    expect(missing.statusCode).toBe(404)
    expect(missing.json().error.message).toMatch(/no-such-job/)
    expect((await t.app.inject({ method: 'GET', url: '/api/jobs/Bad%20Name/runs', headers: viewer })).statusCode).toBe(
      400,
    )
  })

  it('pauses and resumes: no next run while paused, audited', async () => {
    const paused = await t.request('POST', '/api/jobs/cache-warm/pause')
    expect(paused.statusCode).toBe(200)
    expect(paused.json().job).toMatchObject({ name: 'cache-warm', paused: true, nextRunAt: null })
    const resumed = await t.request('POST', '/api/jobs/cache-warm/resume')
    expect(resumed.json().job.paused).toBe(false)
    expect(resumed.json().job.nextRunAt).not.toBeNull()
    const audit = await t.request('GET', '/api/audit?limit=2')
    expect(audit.json().entries.map((e: { action: string }) => e.action)).toEqual(['job.resume', 'job.pause'])
  })

  it('changes a schedule through the API, rejects an invalid one with a clear 400, and goes back with null', async () => {
    const bad = await t.request('PUT', '/api/jobs/vacuum-analyze/schedule', { schedule: '0 0 25 * * *' })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error).toMatchObject({ code: 'invalid_schedule' })
    expect(bad.json().error.message).toMatch(/hour/)
    const set = await t.request('PUT', '/api/jobs/vacuum-analyze/schedule', { schedule: '0 0 4 * * *' })
    expect(set.statusCode).toBe(200)
    expect(set.json().job).toMatchObject({ schedule: '0 0 4 * * *', scheduleSource: 'api' })
    expect(new Date(set.json().job.nextRunAt).getHours()).toBe(4)
    const reset = await t.request('PUT', '/api/jobs/vacuum-analyze/schedule', { schedule: null })
    expect(reset.json().job).toMatchObject({ schedule: '0 15 * * * *', scheduleSource: 'default' })
  })

  it('emits started and finished job events with the run id', async () => {
    const seen: Array<{ type: string; runId: string; status: string }> = []
    const listener = (e: { type: string; runId: string; status: string; job: string }) => {
      if (e.job === 'health-check') seen.push(e)
    }
    t.app.events.on('job', listener)
    try {
      const res = await t.request('POST', '/api/jobs/health-check/run')
      const runId = res.json().runId
      // The row is final before the event goes out: wait for the event itself.
      await waitFor('the finished event', () => seen.find((e) => e.runId === runId && e.type === 'finished'))
      const mine = seen.filter((e) => e.runId === runId)
      expect(mine.map((e) => e.type)).toEqual(['started', 'finished'])
      expect(mine[1]).toMatchObject({ status: 'success' })
    } finally {
      t.app.events.off('job', listener)
    }
  })
})
