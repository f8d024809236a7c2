import './match-media.js'
import { fireEvent, render, screen, within } from '@testing-library/svelte'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import Alerts from '../src/features/alerts/Alerts.svelte'
import { dashboardContext } from '../src/lib/dashboard.js'
import { fakeDashboard, ok, type FakeDashboard } from './fake-dashboard.js'

const NOW = Date.now()
const iso = (offsetMs: number) => new Date(NOW + offsetMs).toISOString()

const rules = [
  {
    name: 'HighMemoryUsage',
    signal: 'system_memory_usage_ratio',
    matchers: {},
    op: '>',
    threshold: 0.9,
    for: '5m',
    keepFiringFor: '0s',
    repeatInterval: '4h',
    severity: 'warning',
    labels: {},
    annotations: { summary: 'Memory usage is high' },
    enabled: true,
  },
  {
    name: 'HighResponseTime',
    signal: 'http_latency_p95_seconds',
    matchers: {},
    op: '>',
    threshold: 2,
    for: '1m',
    keepFiringFor: '0s',
    repeatInterval: '4h',
    severity: 'critical',
    labels: {},
    annotations: {},
    enabled: true,
  },
]
/** A receiver as the API shows it (its URL masked), with these fields changed. */
const receiverView = <T extends Record<string, unknown>>(fields: T) => ({
  kind: 'webhook',
  format: 'alertmanager',
  url: 'https://hooks.example.com/…',
  hasSecret: false,
  severities: [],
  matchers: [],
  sendResolved: true,
  groupBy: ['alertname'],
  groupWait: '0s',
  enabled: true,
  source: 'api',
  createdAt: iso(0),
  updatedAt: iso(0),
  ...fields,
})

const alert = (rule: string, extra: Record<string, unknown> = {}) => ({
  fingerprint: rule === 'HighMemoryUsage' ? '0123456789abcdef' : 'fedcba9876543210',
  rule,
  state: 'firing',
  severity: 'warning',
  value: 0.934,
  since: iso(-10 * 60_000),
  firingSince: iso(-5 * 60_000),
  labels: { severity: 'warning', alertname: rule },
  annotations: { summary: `${rule} summary` },
  silenced: false,
  silencedBy: [],
  acknowledged: null,
  lastNotifiedAt: iso(-5 * 60_000),
  ...extra,
})

function routes(alerts: unknown[]) {
  return {
    'GET /api/alerts': ok({ alerts }),
    'GET /api/alerts/rules': ok({ rules }),
    'GET /api/silences': ok({ silences: [] }),
  }
}

describe('the Alerts page', () => {
  let fake: FakeDashboard
  beforeEach(() => history.replaceState(null, '', '/alerts'))
  afterEach(() => fake?.close())

  function show(role: 'admin' | 'viewer', alerts: unknown[]) {
    fake = fakeDashboard(role, routes(alerts))
    render(Alerts, { context: dashboardContext(fake.dashboard) })
    return fake
  }

  it('lists pending and firing alerts with value in the signal’s unit, severity and since', async () => {
    show('admin', [
      alert('HighResponseTime', {
        state: 'pending',
        severity: 'critical',
        value: 2.4,
        firingSince: null,
        // Relative to now, not to module load: a slow run would read 31 s.
        since: new Date(Date.now() - 30_000).toISOString(),
        lastNotifiedAt: null,
      }),
      alert('HighMemoryUsage'),
    ])
    const table = await screen.findByTestId('active-alerts')
    const [first, second] = within(table).getAllByRole('row').slice(1)
    // Firing first.
    expect(first).toHaveTextContent('HighMemoryUsage')
    expect(within(first!).getByTestId('alert-value')).toHaveTextContent('93.4 %')
    expect(first).toHaveTextContent('firing for 5 min')
    expect(first).toHaveTextContent('system_memory_usage_ratio > 90.0 % for 5m')
    expect(second).toHaveTextContent('pending')
    expect(second).toHaveTextContent('critical')
    expect(within(second!).getByTestId('alert-value')).toHaveTextContent('2.40 s')
    // 30 s, or a second or two more when rendering took that long.
    expect(second).toHaveTextContent(/pending for 3[0-2] s/)
    expect(second).toHaveTextContent('not sent while pending')
    expect(await screen.findByTestId('alerts-summary')).toHaveTextContent('1 firing, 1 pending')
  })

  it('acknowledges an alert only with a comment', async () => {
    const fake = show('admin', [alert('HighMemoryUsage')])
    fake.route('POST /api/alerts/0123456789abcdef/ack', ok({ alert: alert('HighMemoryUsage') }))
    await fireEvent.click(await screen.findByRole('button', { name: 'Acknowledge HighMemoryUsage' }))
    const dialog = screen.getByRole('dialog', { name: 'Acknowledge HighMemoryUsage?' })
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Acknowledge' }))
    expect(within(dialog).getByRole('alert')).toHaveTextContent('Say why')
    expect(fake.calls.some((c) => c.method === 'POST')).toBe(false)

    fake.route(
      'GET /api/alerts',
      ok({
        alerts: [alert('HighMemoryUsage', { acknowledged: { by: 'admin person', at: iso(0), comment: 'on it' } })],
      }),
    )
    await fireEvent.input(within(dialog).getByLabelText('Comment'), { target: { value: '  on it ' } })
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Acknowledge' }))
    expect(await screen.findByText('Acknowledged by admin person: “on it”')).toBeInTheDocument()
    expect(fake.calls.find((c) => c.method === 'POST')?.body).toEqual({ comment: 'on it' })
    expect(screen.getByRole('button', { name: 'Acknowledge HighMemoryUsage' })).toBeDisabled()
  })

  it('silences an alert for a chosen duration with its labels prefilled', async () => {
    const fake = show('admin', [alert('HighMemoryUsage')])
    fake.route('POST /api/silences', (call) => ({
      status: 201,
      body: {
        silence: {
          ...(call.body as object),
          id: '55555555-5555-4555-8555-555555555555',
          startsAt: iso(0),
          status: 'active',
        },
      },
    }))
    await fireEvent.click(await screen.findByRole('button', { name: 'Silence HighMemoryUsage' }))
    const dialog = screen.getByRole('dialog', { name: 'Silence HighMemoryUsage' })
    expect(within(dialog).getByLabelText('Label name 1')).toHaveValue('alertname')
    expect(within(dialog).getByLabelText('Value 1')).toHaveValue('HighMemoryUsage')
    expect(within(dialog).getByLabelText('Label name 2')).toHaveValue('severity')
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Remove matcher 2' }))
    await fireEvent.change(within(dialog).getByLabelText('Duration'), { target: { value: String(4 * 3_600_000) } })
    await fireEvent.input(within(dialog).getByLabelText('Comment'), { target: { value: 'deploying' } })
    const before = Date.now()
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Create silence' }))
    await new Promise((r) => setTimeout(r, 0))
    const body = fake.calls.find((c) => c.method === 'POST' && c.path === '/api/silences')!.body as {
      matchers: unknown
      endsAt: string
      comment: string
    }
    expect(body.matchers).toEqual([{ name: 'alertname', op: '=', value: 'HighMemoryUsage' }])
    expect(body.comment).toBe('deploying')
    const endsIn = Date.parse(body.endsAt) - before
    expect(endsIn).toBeGreaterThanOrEqual(4 * 3_600_000)
    expect(endsIn).toBeLessThan(4 * 3_600_000 + 60_000)
  })

  it('refreshes when an alert changes state on the live feed', async () => {
    const fake = show('admin', [])
    expect(await screen.findByText(/Nothing is pending or firing/)).toBeInTheDocument()
    fake.route('GET /api/alerts', ok({ alerts: [alert('HighMemoryUsage')] }))
    fake.emit({
      type: 'alert',
      data: {
        fingerprint: '0123456789abcdef',
        rule: 'HighMemoryUsage',
        severity: 'warning',
        labels: {},
        annotations: {},
        from: 'pending',
        to: 'firing',
        value: 0.934,
        at: iso(0),
      },
    })
    expect(await screen.findByRole('button', { name: 'Silence HighMemoryUsage' })).toBeInTheDocument()
  })

  it('shows the server’s validation problems next to the fields of the rule editor', async () => {
    const fake = show('admin', [])
    fake.route('POST /api/alerts/rules', {
      status: 400,
      body: {
        error: {
          code: 'validation_error',
          message: 'body/threshold must be a number; body/over/window must be a duration like 30s, 5m or 1h30m',
        },
      },
    })
    await fireEvent.click(await screen.findByRole('tab', { name: /^Rules/ }))
    await fireEvent.click(await screen.findByRole('button', { name: 'New rule…' }))
    const form = screen.getByRole('form', { name: 'New rule' })
    await fireEvent.input(within(form).getByLabelText('Name'), { target: { value: 'QueueBackedUp' } })
    await fireEvent.input(within(form).getByLabelText('Signal'), { target: { value: 'db_pool_waiting' } })
    await fireEvent.input(within(form).getByLabelText('Condition'), { target: { value: 'many' } })
    await fireEvent.click(within(form).getByRole('checkbox', { name: 'an aggregate over' }))
    await fireEvent.input(within(form).getByLabelText('Window'), { target: { value: 'a while' } })
    await fireEvent.click(within(form).getByRole('button', { name: 'Create rule' }))

    const threshold = within(form).getByLabelText('Condition')
    expect(await within(form).findByText('must be a number')).toBeInTheDocument()
    expect(threshold).toHaveAttribute('aria-invalid', 'true')
    expect(threshold).toHaveAccessibleDescription(/must be a number/)
    expect(within(form).getByText('window: must be a duration like 30s, 5m or 1h30m')).toBeInTheDocument()
    expect(fake.calls.find((c) => c.method === 'POST')?.body).toMatchObject({
      name: 'QueueBackedUp',
      signal: 'db_pool_waiting',
      threshold: 'many',
      over: { window: 'a while', fn: 'avg' },
    })

    fake.route('POST /api/alerts/rules', {
      status: 409,
      body: { error: { code: 'conflict', message: 'A rule named QueueBackedUp exists' } },
    })
    await fireEvent.input(threshold, { target: { value: '3' } })
    await fireEvent.click(within(form).getByRole('button', { name: 'Create rule' }))
    expect(await within(form).findByRole('alert')).toHaveTextContent('A rule named QueueBackedUp exists')
    expect(within(form).queryByText('must be a number')).toBeNull()
  })

  it('sends a test to a receiver and shows the answer and the notification log', async () => {
    const fake = show('admin', [])
    const receiver = receiverView({
      id: '66666666-6666-4666-8666-666666666666',
      name: 'ops-hook',
      hasSecret: true,
      severities: ['critical'],
    })
    const notification = {
      id: '42',
      receiver: 'ops-hook',
      receiverId: receiver.id,
      reason: 'test',
      groupKey: '{}:{alertname="TestNotification"}',
      status: 'pending',
      attempts: 1,
      lastError: 'HTTP 503 from receiver',
      lastStatusCode: 503,
      alerts: [{ fingerprint: 'f', alertname: 'TestNotification', status: 'firing' }],
      createdAt: iso(0),
      nextAttemptAt: iso(2000),
      deliveredAt: null,
    }
    fake.route('GET /api/alerts/receivers', ok({ receivers: [receiver] }))
    fake.route('GET /api/alerts/notifications', ok({ notifications: [], nextBefore: null }))
    fake.route(`POST /api/alerts/receivers/${receiver.id}/test`, () => {
      fake.route('GET /api/alerts/notifications', ok({ notifications: [notification], nextBefore: null }))
      return ok({ notification })
    })
    await fireEvent.click(await screen.findByRole('tab', { name: 'Receivers and notifications' }))
    expect(await screen.findByText('No notification has been sent yet.')).toBeInTheDocument()
    await fireEvent.click(await screen.findByRole('button', { name: 'Send a test to ops-hook' }))
    expect(
      await screen.findByText('Not delivered yet: HTTP 503 from receiver; retried like any notification'),
    ).toBeInTheDocument()
    const log = await screen.findByTestId('notification-log')
    expect(log).toHaveTextContent('ops-hook')
    expect(log).toHaveTextContent('HTTP 503')
    expect(log).toHaveTextContent('pending')
    expect(fake.dashboard.toasts.items.at(-1)?.kind).toBe('error')
  })

  it('edits a receiver without its URL: shows the masked one, keeps it unless a new one is typed', async () => {
    const fake = show('admin', [])
    const receiver = receiverView({
      id: '77777777-7777-4777-8777-777777777777',
      name: 'team-slack',
      format: 'slack',
      url: 'https://hooks.slack.com/…',
    })
    const saved: Array<Record<string, unknown>> = []
    fake.route('GET /api/alerts/receivers', ok({ receivers: [receiver] }))
    fake.route('GET /api/alerts/notifications', ok({ notifications: [], nextBefore: null }))
    fake.route(`PUT /api/alerts/receivers/${receiver.id}`, (call) => {
      saved.push(call.body as Record<string, unknown>)
      if (saved.length === 2)
        return {
          status: 400,
          body: {
            error: {
              code: 'validation_error',
              message: 'body/url names 10.0.0.8, a private address, refused while ALERT_RECEIVER_ALLOW_PRIVATE=false',
            },
          },
        }
      return ok({ receiver })
    })
    await fireEvent.click(await screen.findByRole('tab', { name: 'Receivers and notifications' }))
    expect(await screen.findByTestId('receivers')).toHaveTextContent('https://hooks.slack.com/…')

    await fireEvent.click(await screen.findByRole('button', { name: 'Edit team-slack' }))
    let form = screen.getByRole('form', { name: 'Edit team-slack' })
    const urlField = within(form).getByLabelText(/^URL/) as HTMLInputElement
    expect(urlField.value).toBe('')
    expect(form).toHaveTextContent('now https://hooks.slack.com/…; leave empty to keep it')
    await fireEvent.input(within(form).getByLabelText('Group wait'), { target: { value: '30s' } })
    await fireEvent.click(within(form).getByRole('button', { name: 'Save receiver' }))
    await screen.findByRole('button', { name: 'New receiver…' })
    expect(saved[0]).not.toHaveProperty('url')
    expect(saved[0]).toMatchObject({ name: 'team-slack', groupWait: '30s' })

    await fireEvent.click(await screen.findByRole('button', { name: 'Edit team-slack' }))
    form = screen.getByRole('form', { name: 'Edit team-slack' })
    await fireEvent.input(within(form).getByLabelText(/^URL/), { target: { value: 'http://10.0.0.8/hook' } })
    await fireEvent.click(within(form).getByRole('button', { name: 'Save receiver' }))
    expect(await within(form).findByText(/names 10\.0\.0\.8, a private address/)).toHaveAttribute(
      'id',
      'receiver-url-error',
    )
    expect(saved[1]).toMatchObject({ url: 'http://10.0.0.8/hook' })
  })

  it('opens the tab named in the address', async () => {
    history.replaceState(null, '', '/alerts#silences')
    show('admin', [])
    expect(await screen.findByRole('tab', { name: /^Silences/ })).toHaveAttribute('aria-selected', 'true')
    expect(await screen.findByText(/No silence\./)).toBeInTheDocument()
  })

  it('moves between tabs with the arrow keys', async () => {
    show('admin', [])
    const active = await screen.findByRole('tab', { name: /^Active/ })
    active.focus()
    await fireEvent.keyDown(active, { key: 'ArrowRight' })
    const historyTab = screen.getByRole('tab', { name: 'History' })
    expect(historyTab).toHaveAttribute('aria-selected', 'true')
    expect(historyTab).toHaveFocus()
    expect(location.hash).toBe('#history')
  })

  it('keeps acknowledge, silence and new rule disabled for a viewer, with the reason', async () => {
    show('viewer', [alert('HighMemoryUsage')])
    const reason = 'Your token has the viewer role: actions need an admin token'
    for (const name of ['Acknowledge HighMemoryUsage', 'Silence HighMemoryUsage']) {
      const button = await screen.findByRole('button', { name })
      expect(button).toBeDisabled()
      expect(button).toHaveAccessibleDescription(reason)
    }
    await fireEvent.click(screen.getByRole('tab', { name: /^Rules/ }))
    expect(await screen.findByRole('button', { name: 'New rule…' })).toBeDisabled()
    expect(screen.getByRole('button', { name: 'Delete HighMemoryUsage' })).toBeDisabled()
  })
})
