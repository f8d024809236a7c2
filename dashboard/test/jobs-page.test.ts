import { fireEvent, render, screen, within } from '@testing-library/svelte'
import { afterEach, describe, expect, it } from 'vitest'
import Jobs from '../src/features/jobs/Jobs.svelte'
import { dashboardContext } from '../src/lib/dashboard.js'
import { fakeDashboard, ok, progressOf, type FakeDashboard } from './fake-dashboard.js'

const NOW = Date.now()
// Relative to when a test builds its data, not to when this file was loaded: on a busy machine
// the two can be a minute apart, and "next in 5 min" would read "4 min".
const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString()

function job(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    description: `The ${name} job`,
    schedule: '0 */10 * * * *',
    scheduleSource: 'default',
    scheduleDescription: 'Every 10 minutes',
    defaultSchedule: '0 */10 * * * *',
    scope: 'cluster',
    catchUp: 'none',
    timeoutMs: 300_000,
    attempts: 3,
    backoffMs: 5000,
    paused: false,
    running: false,
    failing: false,
    nextRunAt: iso(5 * 60_000),
    lastRun: null,
    lastSuccessAt: null,
    ...extra,
  }
}

const lastRun = (status: string, durationMs: number, error: string | null = null) => ({
  id: '11111111-1111-4111-8111-111111111111',
  job: 'cache-warm',
  trigger: 'schedule',
  instance: 'test-1',
  params: {},
  status,
  attempt: 1,
  started_at: iso(-60_000),
  finished_at: iso(-60_000 + durationMs),
  duration_ms: durationMs,
  error,
  output: null,
})

describe('the Jobs page', () => {
  let fake: FakeDashboard
  afterEach(() => fake?.close())

  function show(role: 'admin' | 'viewer', jobs: unknown[]) {
    fake = fakeDashboard(role, { 'GET /api/jobs': ok({ jobs }) })
    render(Jobs, { context: dashboardContext(fake.dashboard) })
    return fake
  }

  it('shows each schedule in words and as cron, the next run, the last status and duration, and paused jobs', async () => {
    show('admin', [
      job('cache-warm', { lastRun: lastRun('failed', 2_500, 'provider timed out'), failing: true }),
      job('retention', {
        paused: true,
        nextRunAt: null,
        schedule: '0 30 3 * * *',
        scheduleDescription: 'At 03:30',
        scheduleSource: 'env',
      }),
    ])
    const warm = (await screen.findByText('cache-warm')).closest('tr')!
    expect(warm).toHaveTextContent('Every 10 minutes')
    expect(within(warm).getByText('0 */10 * * * *')).toBeInTheDocument()
    expect(warm).toHaveTextContent('next in 5 min')
    expect(warm).toHaveTextContent('failed in 2.50 s')
    expect(warm).toHaveTextContent('provider timed out')
    expect(warm).toHaveTextContent('failing')

    const retention = screen.getByText('retention').closest('tr')!
    expect(retention).toHaveTextContent('At 03:30')
    expect(retention).toHaveTextContent('(from env)')
    expect(within(retention).getByText('paused')).toHaveClass('badge')
    expect(retention).toHaveTextContent('paused: no next run')
    expect(within(retention).getByRole('button', { name: 'Resume' })).toBeEnabled()
    expect(retention).toHaveTextContent('never ran')
  })

  it('runs a job now and shows its live progress, then its end', async () => {
    const fake = show('admin', [job('cache-warm')])
    const RUN = '22222222-2222-4222-8222-222222222222'
    fake.route('POST /api/jobs/cache-warm/run', {
      status: 202,
      body: { runId: RUN, job: 'cache-warm', status: 'running' },
    })
    const row = (await screen.findByText('cache-warm')).closest('tr')!
    await fireEvent.click(within(row).getByRole('button', { name: 'Run now' }))
    expect(fake.calls.some((c) => c.method === 'POST' && c.path === '/api/jobs/cache-warm/run')).toBe(true)
    expect(await within(row).findByText('running')).toBeInTheDocument()
    expect(within(row).getByRole('button', { name: 'Run now' })).toBeDisabled()

    const event = { runId: RUN, job: 'cache-warm', trigger: 'manual', instance: 'test-1', attempt: 1 }
    fake.emit(progressOf(event, NOW, { step: 'warm', done: 3, total: 10 }))
    const progress = await within(row).findByRole('status', { name: 'Progress of cache-warm' })
    expect(progress).toHaveTextContent('3 of 10 done')
    expect(progress.querySelector('progress')).toHaveAttribute('value', '3')

    fake.route(
      'GET /api/jobs',
      ok({ jobs: [job('cache-warm', { lastRun: { ...lastRun('success', 840), id: RUN, trigger: 'manual' } })] }),
    )
    fake.emit({
      type: 'job',
      data: { ...event, type: 'finished', status: 'success', at: NOW, durationMs: 840, report: { warmed: 10 } },
    })
    expect(await within(row).findByText('success')).toBeInTheDocument()
    expect(fake.dashboard.toasts.items.map((t) => t.message)).toContain('cache-warm finished in 840 ms.')
    expect(row).toHaveTextContent('in 840 ms')
    expect(within(row).queryByRole('status', { name: 'Progress of cache-warm' })).toBeNull()
  })

  it('pauses a job and shows the server’s answer', async () => {
    const fake = show('admin', [job('cache-warm')])
    fake.route('POST /api/jobs/cache-warm/pause', ok({ job: job('cache-warm', { paused: true }) }))
    const row = (await screen.findByText('cache-warm')).closest('tr')!
    fake.route('GET /api/jobs', ok({ jobs: [job('cache-warm', { paused: true, nextRunAt: null })] }))
    await fireEvent.click(within(row).getByRole('button', { name: 'Pause' }))
    expect(await within(row).findByRole('button', { name: 'Resume' })).toBeInTheDocument()
    expect(fake.dashboard.toasts.items.at(-1)).toMatchObject({
      kind: 'success',
      message: 'Paused cache-warm: it will not run on its schedule until resumed.',
    })
  })

  it('lists the runs of a job with their errors and reports', async () => {
    const fake = show('admin', [job('vacuum-analyze')])
    fake.route(
      'GET /api/jobs/vacuum-analyze/runs',
      ok({
        runs: [
          {
            ...lastRun('success', 1200),
            job: 'vacuum-analyze',
            output: { deadTuplesBefore: 1500, vacuumed: [{ table: 'messages', durationMs: 900 }] },
          },
          {
            ...lastRun('timeout', 1_800_000, 'timed out after 30 min'),
            id: '33333333-3333-4333-8333-333333333333',
            job: 'vacuum-analyze',
          },
        ],
        nextBefore: null,
      }),
    )
    await fireEvent.click(await screen.findByRole('button', { name: 'Runs of vacuum-analyze' }))
    const history = await screen.findByTestId('run-history')
    const [first, second] = [...history.querySelectorAll<HTMLElement>(':scope > tbody > tr')]
    expect(first).toHaveTextContent('success')
    expect(first).toHaveTextContent('1.20 s')
    expect(within(first!).getByText('dead tuples before').nextElementSibling).toHaveTextContent('1,500')
    expect(within(first!).getByRole('cell', { name: '900 ms' })).toBeInTheDocument()
    expect(second).toHaveTextContent('timeout')
    expect(second).toHaveTextContent('30.0 min')
    expect(second).toHaveTextContent('timed out after 30 min')
  })

  it('shows a bad schedule’s problem in the schedule dialog, in the server’s words', async () => {
    const fake = show('admin', [job('cache-warm')])
    fake.route('PUT /api/jobs/cache-warm/schedule', {
      status: 400,
      body: {
        error: { code: 'invalid_schedule', message: 'Invalid cron expression "61 * * * *": minute: out of range' },
      },
    })
    await fireEvent.click(await screen.findByRole('button', { name: 'Edit the schedule of cache-warm' }))
    const input = screen.getByLabelText(/Cron expression/)
    await fireEvent.input(input, { target: { value: '*/5 * * * *' } })
    expect(screen.getByText('Every 5 minutes')).toBeInTheDocument()
    await fireEvent.input(input, { target: { value: '61 * * * *' } })
    await fireEvent.click(screen.getByRole('button', { name: 'Save schedule' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('minute: out of range')
    expect(fake.calls.find((c) => c.method === 'PUT')?.body).toEqual({ schedule: '61 * * * *' })
  })

  it('keeps actions visible but disabled for a viewer, with the reason', async () => {
    show('viewer', [job('cache-warm')])
    const row = (await screen.findByText('cache-warm')).closest('tr')!
    const reason = 'Your token has the viewer role: actions need an admin token'
    for (const name of ['Run now', 'Pause', 'Edit the schedule of cache-warm']) {
      const button = within(row).getByRole('button', { name })
      expect(button).toBeDisabled()
      expect(button).toHaveAccessibleDescription(reason)
    }
    expect(within(row).getByRole('button', { name: 'Runs of cache-warm' })).toBeEnabled()
  })

  it('says when the jobs cannot be loaded and retries', async () => {
    const fake = fakeDashboard('admin', {
      'GET /api/jobs': {
        status: 503,
        body: { error: { code: 'service_unavailable', message: 'Database unavailable' } },
      },
    })
    render(Jobs, { context: dashboardContext(fake.dashboard) })
    expect(await screen.findByRole('alert')).toHaveTextContent('Could not load the jobs: Database unavailable')
    fake.route('GET /api/jobs', ok({ jobs: [job('cache-warm')] }))
    await fireEvent.click(screen.getByRole('button', { name: 'Retry' }))
    expect(await screen.findByText('cache-warm')).toBeInTheDocument()
    fake.close()
  })
})
