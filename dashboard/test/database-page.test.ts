import { fireEvent, render, screen, within } from '@testing-library/svelte'
import { afterEach, describe, expect, it } from 'vitest'
import Database from '../src/features/database/Database.svelte'
import { dashboardContext } from '../src/lib/dashboard.js'
import { fakeDashboard, ok, progressOf, type FakeDashboard } from './fake-dashboard.js'

const RUN = '44444444-4444-4444-8444-444444444444'

const overview = {
  database: {
    kind: 'postgres',
    schema: 'ccp',
    databaseBytes: 52_428_800,
    schemaBytes: 10_485_760,
    connections: 12,
    maxConnections: 100,
    cacheHitRate: 0.93,
    transactionIdAge: 1_200_000,
    longRunning: 1,
    idleInTransaction: 0,
  },
  status: 'warn',
  checks: [
    { name: 'connections', status: 'ok', value: 12, message: '12 of 100 connections in use (12%)' },
    {
      name: 'cache_hit_rate',
      status: 'warn',
      value: 0.93,
      message: '93.00% of reads served from shared buffers: the working set may not fit in memory',
    },
    { name: 'long_running_queries', status: 'critical', value: 6, message: '6 queries running for more than 60 s' },
  ],
}
const index = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  table: 'messages',
  definition: `CREATE INDEX ${name} ON ccp.messages USING btree (conversation_id)`,
  method: 'btree',
  sizeBytes: 2_097_152,
  scans: 0,
  unique: false,
  primary: false,
  valid: true,
  building: false,
  unused: false,
  duplicateOf: null,
  bloat: null,
  bloated: false,
  reindexLeftover: false,
  ...extra,
})
const backend = (pid: number, extra: Record<string, unknown> = {}) => ({
  pid,
  user: 'ccp',
  application: 'worker',
  clientAddress: null,
  backendType: 'client backend',
  state: 'active',
  waitEventType: null,
  waitEvent: null,
  query: 'select pg_sleep(600)',
  queryHidden: null,
  queryStart: null,
  transactionStart: null,
  durationSeconds: 95,
  blockedBy: [],
  ...extra,
})

function routes() {
  return {
    'GET /api/db/overview': ok(overview),
    'GET /api/db/tables': ok({
      tables: [
        {
          name: 'messages',
          totalBytes: 8_388_608,
          tableBytes: 6_291_456,
          indexBytes: 2_097_152,
          rows: 125_000,
          deadTuples: 25_000,
          deadRatio: 0.1667,
          modsSinceAnalyze: 3_000,
          lastVacuum: null,
          lastAutovacuum: null,
          lastAnalyze: null,
          lastAutoanalyze: null,
          seqScans: 4,
          idxScans: 900,
        },
      ],
    }),
    'GET /api/db/indexes': ok({
      indexes: [
        index('messages_conv_idx', { valid: false }),
        index('messages_unused_idx', { unused: true }),
        index('messages_conv_copy_idx', { duplicateOf: 'messages_conv_idx' }),
        index('messages_pkey', { primary: true, unique: true, scans: 40 }),
      ],
    }),
    'GET /api/db/queries': ok({
      available: false,
      reason: 'The pg_stat_statements extension is not installed in this database.',
      howToEnable: 'Add pg_stat_statements to shared_preload_libraries…',
    }),
    'GET /api/db/activity': ok({
      longQuerySeconds: 60,
      total: 3,
      running: [backend(4242)],
      longRunning: [backend(4242)],
      blocked: [],
      idleInTransaction: [],
    }),
    'GET /api/jobs/vacuum-analyze': ok({ job: { name: 'vacuum-analyze', running: false, lastRun: null } }),
  }
}

describe('the Database page', () => {
  let fake: FakeDashboard
  afterEach(() => fake?.close())

  it('shows the overview checks, tables, flagged indexes, how to enable slow queries, and activity', async () => {
    fake = fakeDashboard('admin', routes())
    render(Database, { context: dashboardContext(fake.dashboard) })
    const checks = await screen.findByTestId('db-overview')
    expect(checks).toHaveTextContent('50.0 MiB')
    expect(checks).toHaveTextContent('12 of 100 allowed')
    const hitRate = within(checks).getByText('Buffer cache hit rate').closest('li')!
    expect(hitRate).toHaveClass('level-warn')
    expect(hitRate).toHaveTextContent('93.0 %')
    expect(within(checks).getByText('Long-running queries').closest('li')).toHaveClass('level-critical')

    const tables = await screen.findByTestId('db-tables')
    expect(tables).toHaveTextContent('8.00 MiB')
    expect(tables).toHaveTextContent('125,000')
    expect(tables).toHaveTextContent('25,000 (16.7 %)')

    const indexes = await screen.findByTestId('db-indexes')
    const flagsOf = (name: string) =>
      within(indexes).getByText(name).closest('tr')!.querySelector('.flags')!.textContent
    expect(flagsOf('messages_conv_idx')).toBe('invalid')
    expect(flagsOf('messages_unused_idx')).toBe('unused')
    expect(flagsOf('messages_conv_copy_idx')).toBe('duplicate of messages_conv_idx')
    expect(flagsOf('messages_pkey')).toBe('ok')
    expect(screen.getByText(/3 flagged/)).toBeInTheDocument()

    expect(await screen.findByTestId('queries-unavailable')).toHaveTextContent('shared_preload_libraries')
    const activity = await screen.findByTestId('db-activity')
    expect(activity).toHaveTextContent('4242')
    expect(activity).toHaveTextContent('long-running')
    expect(activity).toHaveTextContent('95.0 s')
  })

  it('optimizes after a confirmation, with live progress and the report of dead tuples before and after', async () => {
    fake = fakeDashboard('admin', routes())
    let answer!: () => void
    fake.route(
      'POST /api/db/optimize',
      () =>
        new Promise(
          (resolve) =>
            (answer = () => resolve({ status: 202, body: { runId: RUN, job: 'vacuum-analyze', status: 'running' } })),
        ),
    )
    render(Database, { context: dashboardContext(fake.dashboard) })
    await fireEvent.click(await screen.findByRole('button', { name: 'Optimize now…' }))
    const dialog = screen.getByRole('dialog', { name: 'Optimize the database now?' })
    expect(fake.calls.some((c) => c.path === '/api/db/optimize')).toBe(false)
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Optimize now' }))
    await new Promise((r) => setTimeout(r, 0))
    expect(fake.calls.filter((c) => c.method === 'POST' && c.path === '/api/db/optimize')).toHaveLength(1)

    const base = { runId: RUN, job: 'vacuum-analyze', trigger: 'manual', instance: 'test-1', attempt: 1 }
    // The run is announced before the 202 arrives.
    fake.emit({ type: 'job', data: { ...base, type: 'started', status: 'running', at: 1 } })
    answer()
    const run = await screen.findByTestId('optimize-run')
    expect(screen.queryByRole('dialog')).toBeNull()
    fake.emit(
      progressOf(base, 2, {
        step: 'vacuum',
        table: 'messages',
        phase: 'scanning heap',
        heapBlocksTotal: 800,
        heapBlocksScanned: 200,
      }),
    )
    const progress = await within(run).findByRole('status', { name: 'Optimize progress' })
    expect(progress).toHaveTextContent('vacuum · messages · scanning heap')
    expect(progress).toHaveTextContent('200 of 800 heap blocks scanned')
    expect(screen.getByRole('button', { name: 'Optimizing…' })).toBeDisabled()

    const report = {
      vacuumed: [
        {
          table: 'messages',
          action: 'vacuum',
          deadTuplesBefore: 25_000,
          deadTuplesAfter: 0,
          deadRatioBefore: 0.1667,
          durationMs: 1500,
          error: null,
          transient: false,
        },
      ],
      analyzed: [
        {
          table: 'sessions',
          action: 'analyze',
          deadTuplesBefore: 10,
          deadTuplesAfter: 10,
          deadRatioBefore: 0.01,
          durationMs: 40,
          error: null,
          transient: false,
        },
      ],
      deadTuplesBefore: 25_010,
      deadTuplesAfter: 10,
      indexes: {
        repaired: [
          {
            index: 'messages_conv_idx',
            table: 'messages',
            action: 'reindex',
            reason: 'invalid',
            durationMs: 700,
            error: null,
            transient: false,
          },
        ],
        building: [],
        leftovers: [],
      },
    }
    fake.route(
      `GET /api/jobs/vacuum-analyze/runs/${RUN}`,
      ok({
        run: {
          id: RUN,
          job: 'vacuum-analyze',
          trigger: 'manual',
          instance: 'test-1',
          params: { repairInvalidIndexes: true },
          status: 'success',
          attempt: 1,
          started_at: '2026-11-21T10:00:00.000Z',
          finished_at: '2026-11-21T10:00:02.300Z',
          duration_ms: 2300,
          error: null,
          output: report,
        },
      }),
    )
    fake.emit({ type: 'job', data: { ...base, type: 'finished', status: 'success', at: 3, durationMs: 2290, report } })

    expect(await within(run).findByText('in 2.30 s')).toBeInTheDocument()
    expect(within(run).getByTestId('dead-before')).toHaveTextContent('25,010')
    expect(within(run).getByTestId('dead-after')).toHaveTextContent('10')
    const rows = within(within(run).getByTestId('optimize-tables')).getAllByRole('row').slice(1)
    expect(rows[0]).toHaveTextContent('messagesVACUUM (ANALYZE)25,000016.7 %1.50 s')
    expect(rows[1]).toHaveTextContent('sessionsANALYZE')
    expect(run).toHaveTextContent('messages_conv_idx on messages: reindex (invalid) in 700 ms — done')
    // The toast comes with the live event (its duration), before the stored run is read.
    expect(fake.dashboard.toasts.items.map((t) => t.message)).toContain('Optimize finished in 2.29 s.')
    // The figures the run changed are read again.
    expect(fake.calls.filter((c) => c.path === '/api/db/tables').length).toBeGreaterThanOrEqual(2)
  })

  it('keeps Optimize and Cancel query disabled for a viewer, with the reason', async () => {
    fake = fakeDashboard('viewer', routes())
    render(Database, { context: dashboardContext(fake.dashboard) })
    const optimize = await screen.findByRole('button', { name: 'Optimize now…' })
    expect(optimize).toBeDisabled()
    expect(optimize).toHaveAccessibleDescription('Your token has the viewer role: actions need an admin token')
    const cancel = await screen.findByRole('button', { name: 'Cancel query…' })
    expect(cancel).toBeDisabled()
    expect(cancel).toHaveAccessibleDescription('Your token has the viewer role: actions need an admin token')
  })

  it('says why a session’s query is not shown', async () => {
    const hidden = backend(5151, { user: 'reporting', query: null, queryHidden: 'other_role' })
    fake = fakeDashboard('viewer', {
      ...routes(),
      'GET /api/db/activity': ok({
        longQuerySeconds: 60,
        total: 2,
        running: [backend(4242), hidden],
        longRunning: [],
        blocked: [],
        idleInTransaction: [],
      }),
    })
    render(Database, { context: dashboardContext(fake.dashboard) })
    const activity = await screen.findByTestId('db-activity')
    const row = within(activity).getByText('5151').closest('tr')!
    expect(row).toHaveTextContent('Hidden: a session of another database role (admins see it)')
    expect(within(activity).getByText('4242').closest('tr')).toHaveTextContent('select pg_sleep(600)')
  })
})
