import { beforeAll, describe, expect, it } from 'vitest'
import { backends } from '../../helpers/app.js'
import { useAlertingApp, useReceivers, waitFor, type TestReceiver } from '../../helpers/alerts.js'

const HOUR = 3_600_000

describe.each(backends)('maintenance windows ($name)', (backend) => {
  const alerting = useAlertingApp(backend)
  const { t, fire, tick } = alerting
  const startReceiver = useReceivers()
  let receiver: TestReceiver
  let viewer: string
  beforeAll(async () => {
    receiver = await startReceiver()
    viewer = (await t.app.tokens.create({ name: 'viewer', role: 'viewer', createdBy: 'test' })).secret
    const created = await t.request('POST', '/api/alerts/receivers', { name: 'ops', url: `${receiver.url}/hook` })
    expect(created.statusCode).toBe(201)
    await t.app.alerts.notifier.idle()
  })

  const firingFor = (caseName: string) =>
    receiver.requests.filter(
      (r) =>
        r.json?.status === 'firing' &&
        r.json.alerts.some((a: { labels: { case: string } }) => a.labels.case === caseName),
    )

  it('refuses windows that are neither one-off nor recurring, or have a bad cron or timezone', async () => {
    const base = { name: 'm', matchers: [{ name: 'case', op: '=', value: 'x' }], comment: 'db upgrade' }
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{}, /startsAt and endsAt, or cron and duration/],
      [{ cron: '0 2 * * *' }, /needs cron and duration/],
      [{ cron: 'nope', duration: '1h' }, /cron/],
      [{ cron: '0 2 * * *', duration: '1h', timezone: 'Mars/Olympus' }, /IANA timezone/],
      [{ cron: '0 2 * * *', duration: '1h', startsAt: new Date().toISOString() }, /not both/],
      [{ startsAt: new Date(Date.now() + HOUR).toISOString(), endsAt: new Date().toISOString() }, /after startsAt/],
      [{ ...{}, comment: '  ', cron: '0 2 * * *', duration: '1h' }, /comment is required/],
    ]
    for (const [extra, message] of cases) {
      const res = await t.request('POST', '/api/maintenance-windows', { ...base, ...extra })
      expect(res.statusCode, JSON.stringify(extra)).toBe(400)
      expect(res.json().error.message).toMatch(message)
    }
  })

  it('lists recurring windows with activeNow and nextStart; viewers read, only admins change, changes are audited', async () => {
    const created = await t.request('POST', '/api/maintenance-windows', {
      name: 'nightly backup',
      matchers: [{ name: 'case', op: '=', value: 'backup' }],
      comment: 'pg_dump',
      cron: '0 3 * * *',
      duration: '2h',
      timezone: 'Europe/Berlin',
    })
    expect(created.statusCode).toBe(201)
    const window = created.json().window
    expect(window).toMatchObject({
      cron: '0 3 * * *',
      duration: '2h',
      timezone: 'Europe/Berlin',
      createdBy: 'ADMIN_TOKEN',
    })
    expect(typeof window.activeNow).toBe('boolean')
    expect(Date.parse(window.nextStart)).toBeGreaterThan(Date.now())

    const listed = await t.request('GET', '/api/maintenance-windows', undefined, { token: viewer })
    expect(listed.statusCode).toBe(200)
    expect(listed.json().windows.map((w: { id: string }) => w.id)).toContain(window.id)
    expect((await t.request('POST', '/api/maintenance-windows', { ...window }, { token: viewer })).statusCode).toBe(403)

    const patched = await t.request('PATCH', `/api/maintenance-windows/${window.id}`, { duration: '30m' })
    expect(patched.statusCode).toBe(200)
    expect(patched.json().window).toMatchObject({ duration: '30m', cron: '0 3 * * *', name: 'nightly backup' })
    const audit = (await t.request('GET', '/api/audit?limit=10')).json()
    expect(JSON.stringify(audit)).toContain('maintenance-window.update')

    expect((await t.request('DELETE', `/api/maintenance-windows/${window.id}`)).statusCode).toBe(200)
    expect((await t.request('GET', `/api/maintenance-windows/${window.id}`)).statusCode).toBe(404)
  })

  it('holds back notifications as suppressed while a window is on, and notifies what still fires when it ends', async () => {
    const now = Date.now()
    const created = await t.request('POST', '/api/maintenance-windows', {
      name: 'deploy',
      matchers: [{ name: 'case', op: '=~', value: 'held|gone' }],
      comment: 'release 4.2',
      startsAt: new Date(now - 1000).toISOString(),
      endsAt: new Date(now + 2500).toISOString(),
    })
    expect(created.statusCode).toBe(201)
    const window = created.json().window
    expect(window.activeNow).toBe(true)

    // Evaluation goes on: the alert fires, but nobody is told.
    alerting.signal.setMany([
      { labels: { case: 'held' }, value: 5 },
      { labels: { case: 'gone' }, value: 5 },
    ])
    await tick()
    await tick()
    const alerts = (await t.request('GET', '/api/alerts')).json().alerts
    expect(alerts.map((a: { state: string }) => a.state)).toEqual(['firing', 'firing'])
    const suppressed = (await t.request('GET', '/api/alerts/notifications?status=suppressed')).json().notifications
    // One record per alert and occurrence, not one per tick.
    expect(suppressed).toHaveLength(1)
    expect(suppressed[0]).toMatchObject({
      status: 'suppressed',
      windowId: window.id,
      receiver: 'ops',
      reason: 'firing',
    })
    expect(suppressed[0].alerts.map((a: { status: string }) => a.status)).toEqual(['firing', 'firing'])
    await t.app.alerts.worker.idle()
    expect(firingFor('held')).toHaveLength(0)

    // "gone" resolves inside the window: never notified, so its resolution is not sent either.
    alerting.signal.setMany([{ labels: { case: 'held' }, value: 5 }])
    await tick()
    // Past the window's end (in real time too, which the delivery worker goes by): what still fires is notified now.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, now + 2600 - Date.now())))
    await tick()
    await waitFor('the held-back notification', () => firingFor('held')[0])
    await t.app.alerts.worker.idle()
    expect(firingFor('gone')).toHaveLength(0)
    expect(receiver.requests.filter((r) => r.json?.status === 'resolved')).toHaveLength(0)
    alerting.signal.setMany([])
    await tick()
  })

  it('mutes on every occurrence of a recurring window only, and reloads windows on change', async () => {
    // Every minute for 1 s: the next tick (a minute apart) falls outside it.
    const created = await t.request('POST', '/api/maintenance-windows', {
      name: 'always',
      matchers: [{ name: 'case', op: '=', value: 'cron' }],
      comment: 'every day',
      cron: '* * * * *',
      duration: '1d',
      timezone: 'UTC',
    })
    const window = created.json().window
    expect(window.activeNow).toBe(true)
    await fire('cron')
    const suppressed = (await t.request('GET', '/api/alerts/notifications?status=suppressed')).json().notifications
    expect(suppressed[0]).toMatchObject({ windowId: window.id })
    await t.app.alerts.worker.idle()
    expect(firingFor('cron')).toHaveLength(0)

    // Shortened so that no occurrence is on any more: the next tick notifies.
    await t.request('PATCH', `/api/maintenance-windows/${window.id}`, { cron: '0 0 1 1 *', duration: '1s' })
    await t.app.alerts.evaluator.idle()
    await fire('cron')
    await waitFor('the firing notification after the window', () => firingFor('cron')[0])
  })
})
