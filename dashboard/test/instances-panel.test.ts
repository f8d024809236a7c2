import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import InstancesPanel from '../src/features/overview/InstancesPanel.svelte'
import { dashboardContext } from '../src/lib/dashboard.js'
import { fakeDashboard, ok, type FakeDashboard, type Reply } from './fake-dashboard.js'

// Only Date is faked (timers stay real): "4 s ago" is then exact however slow the machine,
// and moving the clock on shows whether the texts tick by themselves. (Testing Library's
// waitFor, not vi.waitFor: the latter would move the faked clock on by itself.)
const NOW = Date.parse('2026-03-02T10:00:00.000Z')
const iso = (offsetMs: number) => new Date(NOW + offsetMs).toISOString()

interface Announced {
  id: string
  version: string
  startedAt: string
  lastHeartbeat: string
}

/**
 * `GET /api/instances` as the server answers it (server/fleet/index.ts): uptime from the
 * server's clock at the time of the call (with that time and the heartbeat interval, 5 s here);
 * `self` is test-1, the instance of the fake live feed.
 */
function fleet(
  instances: Announced[],
  options: { redis?: boolean; leaderId?: string | null; serverClock?: () => number } = {},
) {
  const { redis = true, leaderId = instances[0]?.id ?? null, serverClock = () => Date.now() } = options
  return () => {
    const now = serverClock()
    return ok({
      redis,
      leaderId,
      serverTime: new Date(now).toISOString(),
      heartbeatIntervalMs: 5_000,
      instances: instances.map((i, n) => ({
        ...i,
        host: `host-${n + 1}`,
        pid: 1000 + n,
        uptimeSeconds: Math.max(0, (now - Date.parse(i.startedAt)) / 1000),
        self: i.id === 'test-1',
        leader: i.id === leaderId,
      })),
    })
  }
}

const threeInstances: Announced[] = [
  { id: 'node-b', version: '1.4.0', startedAt: iso(-(3 * 86_400 + 4 * 3600) * 1000), lastHeartbeat: iso(-4_000) },
  { id: 'test-1', version: '1.5.0', startedAt: iso(-(2 * 3600 + 5 * 60) * 1000), lastHeartbeat: iso(-1_000) },
  { id: 'node-c', version: '1.5.0', startedAt: iso(-45_000), lastHeartbeat: iso(-12_000) },
]

describe('the Instances panel', () => {
  let fake: FakeDashboard
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW)
  })
  afterEach(() => {
    fake?.close()
    vi.useRealTimers()
  })

  function show(role: 'admin' | 'viewer', reply: Reply, props: { refreshMs?: number } = {}) {
    fake = fakeDashboard(role, { 'GET /api/instances': reply })
    render(InstancesPanel, { props, context: dashboardContext(fake.dashboard) })
  }
  const row = (id: string) =>
    screen.getByTestId('instances-table').querySelector<HTMLElement>(`tr[data-instance="${id}"]`)!
  const cells = (id: string) =>
    [...row(id).querySelectorAll('td')].map((td) => td.textContent!.replace(/\s+/g, ' ').trim())
  const instanceCalls = () => fake.calls.filter((c) => c.path === '/api/instances').length

  it('lists every instance with version, uptime and last heartbeat, marks the leader and this instance (viewer role)', async () => {
    show('viewer', fleet(threeInstances, { leaderId: 'node-b' }))
    const table = await screen.findByTestId('instances-table')
    expect([...table.querySelectorAll('tbody tr')].map((tr) => tr.getAttribute('data-instance'))).toEqual([
      'node-b',
      'test-1',
      'node-c',
    ])
    expect(screen.getByRole('heading', { name: 'Instances (3)' })).toBeInTheDocument()

    expect(cells('node-b')).toEqual(['node-b leader host-1 · pid 1000', '1.4.0', '3 d 4 h', '4 s ago'])
    expect(cells('test-1')).toEqual(['test-1 this instance host-2 · pid 1001', '1.5.0', '2 h 5 min', '1 s ago'])
    expect(cells('node-c')).toEqual(['node-c host-3 · pid 1002', '1.5.0', '45 s', '12 s ago stale'])
    // One leader badge, on the leader's row only.
    expect(within(table).getAllByText('leader')).toHaveLength(1)
    expect(within(row('node-b')).getByText('leader')).toHaveAttribute(
      'title',
      'Evaluates the alert rules and delivers their notifications',
    )
    expect(screen.queryByText(/Single instance/)).not.toBeInTheDocument()
    expect(screen.queryByTestId('no-leader')).not.toBeInTheDocument()
  })

  it('marks an instance without a heartbeat for two intervals as stale, and only that one', async () => {
    // Heartbeats every 5 s: node-c (12 s ago) has missed two; node-b (4 s ago) has not.
    show('viewer', fleet(threeInstances, { leaderId: 'node-b' }))
    await screen.findByTestId('instances-table')
    expect(cells('node-c')[3]).toBe('12 s ago stale')
    expect(row('node-c')).toHaveClass('stale')
    expect(within(row('node-c')).getByText('stale')).toHaveAttribute(
      'title',
      'No heartbeat for more than two intervals (5 s each)',
    )
    expect(cells('node-b')[3]).toBe('4 s ago')
    expect(row('node-b')).not.toHaveClass('stale')
  })

  it('ticks uptime and heartbeat age by itself between refreshes', async () => {
    show('admin', fleet(threeInstances))
    await screen.findByTestId('instances-table')
    expect(cells('node-c').slice(2)).toEqual(['45 s', '12 s ago stale'])
    vi.setSystemTime(NOW + 3_000)
    // The page clock ticks every second; the next poll is 5 s away, so no new answer is involved.
    await waitFor(() => expect(cells('node-c').slice(2)).toEqual(['48 s', '15 s ago stale']), { timeout: 3_000 })
    expect(instanceCalls()).toBe(1)
  })

  it('measures heartbeat age on the server’s clock, not a browser clock that is off', async () => {
    // The browser's clock runs 30 s ahead of the servers' (whose times the answer carries).
    vi.setSystemTime(NOW + 30_000)
    show('admin', fleet(threeInstances, { serverClock: () => Date.now() - 30_000 }))
    await screen.findByTestId('instances-table')
    expect(cells('node-b').slice(2)).toEqual(['3 d 4 h', '4 s ago'])
    expect(cells('node-c').slice(2)).toEqual(['45 s', '12 s ago stale'])
  })

  it('refreshes periodically: an instance that starts appears without a reload', async () => {
    const instances = threeInstances.slice(1, 2)
    show('admin', fleet(instances, { leaderId: 'test-1' }), { refreshMs: 100 })
    await screen.findByTestId('instances-table')
    expect(screen.getByRole('heading', { name: 'Instances (1)' })).toBeInTheDocument()
    instances.push({ id: 'node-d', version: '1.5.0', startedAt: iso(-2_000), lastHeartbeat: iso(-2_000) })
    await waitFor(() => expect(cells('node-d')).toEqual(['node-d host-2 · pid 1001', '1.5.0', '2 s', '2 s ago']), {
      timeout: 3_000,
    })
    expect(screen.getByRole('heading', { name: 'Instances (2)' })).toBeInTheDocument()
    expect(instanceCalls()).toBeGreaterThanOrEqual(2)
  })

  it('shows a single instance without Redis plainly, with a hint how to run several', async () => {
    show(
      'viewer',
      fleet([{ id: 'test-1', version: '1.5.0', startedAt: iso(-90_000), lastHeartbeat: iso(0) }], {
        redis: false,
        leaderId: 'test-1',
      }),
    )
    await screen.findByTestId('instances-table')
    expect(cells('test-1')).toEqual(['test-1 leader this instance host-1 · pid 1000', '1.5.0', '1 min 30 s', '—'])
    expect(screen.getByText('Single instance (no REDIS_URL): set REDIS_URL to run several.')).toHaveClass('muted')
  })

  it('says so when no instance holds the alerting lease', async () => {
    show('admin', fleet(threeInstances, { leaderId: null }))
    await screen.findByTestId('instances-table')
    expect(screen.queryByText('leader')).not.toBeInTheDocument()
    expect(screen.getByTestId('no-leader')).toHaveTextContent('No instance holds the alerting lease in Redis right now')
  })

  it('shows a loading state, then the error with a retry that recovers', async () => {
    let answer!: () => void
    show(
      'admin',
      () =>
        new Promise(
          (resolve) =>
            (answer = () =>
              resolve({ status: 503, body: { error: { code: 'unavailable', message: 'Redis is unreachable' } } })),
        ),
    )
    expect(await screen.findByRole('status')).toHaveTextContent('Loading the instances…')
    answer()
    expect(await screen.findByRole('alert')).toHaveTextContent('Could not load the instances: Redis is unreachable')
    expect(screen.queryByTestId('instances-table')).not.toBeInTheDocument()

    fake.route('GET /api/instances', fleet(threeInstances))
    await fireEvent.click(screen.getByRole('button', { name: 'Retry' }))
    await screen.findByTestId('instances-table')
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })

  it('keeps the last list when a refresh fails, and says the refresh failed', async () => {
    show('admin', fleet(threeInstances), { refreshMs: 100 })
    await screen.findByTestId('instances-table')
    fake.route('GET /api/instances', {
      status: 500,
      body: { error: { code: 'internal', message: 'Internal server error' } },
    })
    expect(await screen.findByRole('alert', {}, { timeout: 3_000 })).toHaveTextContent(
      'Refresh failed: Internal server error',
    )
    expect(cells('node-b')[1]).toBe('1.4.0')
  })
})
