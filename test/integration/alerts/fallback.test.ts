import { describe, expect, it } from 'vitest'
import { backends, createToken } from '../../helpers/app.js'
import { receiverApi, useAlertingApp, useReceivers, waitFor } from '../../helpers/alerts.js'

describe.each(backends)('fallback receivers and resend ($name)', (backend) => {
  const { t, fire } = useAlertingApp(backend, {
    env: {
      ALERT_RETRY_BASE_MS: '20',
      ALERT_RETRY_MAX_DELAY_MS: '100',
      ALERT_RETRY_WINDOW_S: '1',
      ALERT_DELIVERY_POLL_MS: '20',
    },
  })
  const startReceiver = useReceivers()

  const { create, notificationsOf } = receiverApi(t)

  /** A primary answering `status` with a fallback that takes everything. */
  async function pair(caseName: string, status: number) {
    const primary = await startReceiver()
    primary.respond = () => status
    const backup = await startReceiver()
    await create({ name: `${caseName}-backup`, url: backup.url, matchers: [{ name: 'case', op: '=', value: 'none' }] })
    const receiver = await create({
      name: caseName,
      url: primary.url,
      fallback: `${caseName}-backup`,
      matchers: [{ name: 'case', op: '=', value: caseName }],
    })
    expect(receiver.fallback).toBe(`${caseName}-backup`)
    return { primary, backup, receiver }
  }

  it('a permanent 400 goes to the fallback at once, marked with the failed notification', async () => {
    const { primary, backup } = await pair('perm', 400)
    await fire('perm')
    await waitFor('the fallback delivery', () => backup.requests.length >= 1)
    const [failed] = await notificationsOf('perm', 'failed')
    expect(failed).toMatchObject({ attempts: 1, lastStatusCode: 400, fallbackFor: null })
    expect(primary.requests).toHaveLength(1)
    const [fallback] = await waitFor('fallback delivered', async () => {
      const rows = await notificationsOf('perm-backup', 'delivered')
      return rows.length > 0 && rows
    })
    expect(fallback).toMatchObject({ fallbackFor: failed!.id, reason: 'firing' })
    expect(backup.requests[0]!.json).toMatchObject({ receiver: 'perm-backup', status: 'firing' })
    expect(backup.requests[0]!.json.alerts[0].labels.case).toBe('perm')
  })

  it('a receiver that keeps answering 503 goes to the fallback once the retry window is over', async () => {
    const { primary, backup } = await pair('window', 503)
    await fire('window')
    await waitFor('the fallback delivery', () => backup.requests.length >= 1, 10_000)
    const [failed] = await notificationsOf('window', 'failed')
    expect(failed!.lastError).toMatch(/^gave up after \d+ attempts: HTTP 503/)
    expect(primary.requests.length).toBeGreaterThanOrEqual(1)
    const [fallback] = await notificationsOf('window-backup')
    expect(fallback!.fallbackFor).toBe(failed!.id)
  })

  it('validates the fallback: exists, not itself, no cycle', async () => {
    const a = await create({ name: 'fa', url: 'http://127.0.0.1:9/a' })
    const missing = await t.request('POST', '/api/alerts/receivers', {
      name: 'fx',
      url: 'http://127.0.0.1:9/x',
      fallback: 'nobody',
    })
    expect(missing.statusCode).toBe(400)
    expect(missing.json().error.message).toBe('body/fallback names no receiver: nobody')
    const self = await t.request('PUT', `/api/alerts/receivers/${a.id}`, { name: 'fa', fallback: 'fa' })
    expect(self.json().error.message).toBe('body/fallback cannot be the receiver itself')
    await create({ name: 'fb', url: 'http://127.0.0.1:9/b', fallback: 'fa' })
    const cycle = await t.request('PUT', `/api/alerts/receivers/${a.id}`, { name: 'fa', fallback: 'fb' })
    expect(cycle.statusCode).toBe(400)
    expect(cycle.json().error.message).toMatch(/cannot form a cycle/)
  })

  it('resends a failed notification (admin, audited); 404 for an unknown id, 409 unless failed', async () => {
    const hook = await startReceiver()
    hook.respond = () => 410
    await create({ name: 'dead', url: hook.url, matchers: [{ name: 'case', op: '=', value: 'dead' }] })
    await fire('dead')
    const [failed] = await waitFor('the dead letter', async () => {
      const rows = await notificationsOf('dead', 'failed')
      return rows.length > 0 && rows
    })
    hook.respond = () => 200
    const viewer = (await createToken(t, 'viewer')).secret
    expect(
      (await t.request('POST', `/api/alerts/notifications/${failed!.id}/resend`, undefined, { token: viewer }))
        .statusCode,
    ).toBe(403)
    const res = await t.request('POST', `/api/alerts/notifications/${failed!.id}/resend`)
    expect(res.statusCode).toBe(200)
    expect(res.json().notification).toMatchObject({ id: failed!.id, status: 'pending', attempts: 0 })
    await waitFor('resent and delivered', async () => (await notificationsOf('dead', 'delivered')).length === 1)
    expect(hook.requests).toHaveLength(2)
    expect(hook.requests[1]!.json).toEqual(hook.requests[0]!.json)
    expect((await t.request('POST', `/api/alerts/notifications/${failed!.id}/resend`)).statusCode).toBe(409)
    expect((await t.request('POST', '/api/alerts/notifications/999999999/resend')).statusCode).toBe(404)
    const audit = (await t.request('GET', '/api/audit?action=alert_notification.resend&limit=5')).json().entries
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ target: failed!.id })
  })
})
