import { beforeAll, describe, expect, it } from 'vitest'
import { alertmanagerWebhook } from '../../../alerts/payload.js'
import { backends } from '../../helpers/app.js'
import { useAlertingApp, useReceivers, waitFor, type TestReceiver } from '../../helpers/alerts.js'
import { startAlertmanager, type RunningTool } from '../../helpers/prometheus.js'

/**
 * Against a real Alertmanager: it accepts our API v2 alerts, computes the same fingerprint
 * for them, and the webhook it sends has exactly the fields of ours.
 */
describe.each(backends)('a real Alertmanager as receiver ($name)', (backend) => {
  const { t, fire } = useAlertingApp(backend)
  const startReceiver = useReceivers()
  let webhook: TestReceiver
  let alertmanager: RunningTool | undefined
  beforeAll(async () => {
    webhook = await startReceiver()
    alertmanager = await startAlertmanager(`${webhook.url}/from-alertmanager`)
    return () => alertmanager?.stop()
  })

  /** Waits for the webhook Alertmanager sends with `status`. */
  const fromAlertmanager = (status: 'firing' | 'resolved') =>
    waitFor(`Alertmanager’s ${status} webhook`, () => webhook.requests.find((r) => r.json?.status === status), 30_000)

  it('routes our alerts through Alertmanager, firing then resolved, with our fingerprint and fields', async () => {
    const created = await t.request('POST', '/api/alerts/receivers', {
      name: 'am',
      kind: 'alertmanager',
      url: alertmanager!.url,
    })
    expect(created.statusCode).toBe(201)
    await fire('am', 5)
    const firing = await fromAlertmanager('firing')

    const [ours] = (await t.request('GET', '/api/alerts')).json().alerts
    const theirs = firing.json.alerts[0]
    expect(theirs.fingerprint).toBe(ours.fingerprint)
    expect(theirs.labels).toEqual(ours.labels)
    expect(theirs.annotations).toEqual(ours.annotations)
    expect(theirs.endsAt).toBe('0001-01-01T00:00:00Z')
    expect(Date.parse(theirs.startsAt)).toBe(Date.parse(ours.firingSince))

    const own = alertmanagerWebhook({
      receiver: 'hook',
      externalURL: 'x',
      groupLabels: { alertname: 'TestHigh' },
      alerts: [{ ...ours, status: 'firing', startsAt: 0, endsAt: null }],
    })
    expect(Object.keys(firing.json).sort()).toEqual(Object.keys(own).sort())
    expect(Object.keys(theirs).sort()).toEqual(Object.keys(own.alerts[0]!).sort())
    expect(firing.json.groupKey).toBe('{}:{alertname="TestHigh"}')

    await fire('am', 0)
    const resolved = await fromAlertmanager('resolved')
    expect(resolved.json.alerts[0].fingerprint).toBe(ours.fingerprint)
  }, 60_000)
})
