import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { alertmanagerWebhook } from '../../../alerts/payload.js'
import { backends, createTestApp, type TestApp } from '../../helpers/app.js'
import { hasAlertmanager, startAlertmanager, type RunningAlertmanager } from './alertmanager-process.js'
import {
  controlledSignal,
  lead,
  MANUAL_TICKS,
  rulesFile,
  startReceiver,
  TEST_RULE,
  tickAndEvaluate,
  waitFor,
  type TestReceiver,
} from './helpers.js'

/**
 * Against a real Alertmanager: it accepts our API v2 alerts, computes the same fingerprint
 * for them, and the webhook it sends has exactly the fields of ours.
 */
if (hasAlertmanager) {
  describe.each(backends)('a real Alertmanager as receiver ($name)', (backend) => {
    let t: TestApp
    let webhook: TestReceiver
    let alertmanager: RunningAlertmanager
    beforeAll(async () => {
      webhook = await startReceiver()
      alertmanager = await startAlertmanager(`${webhook.url}/from-alertmanager`)
      t = await createTestApp(backend, { env: { ...MANUAL_TICKS, ALERT_RULES_FILE: rulesFile(`rules:${TEST_RULE}`) } })
      await lead(t.app)
    })
    afterAll(async () => {
      await t?.close()
      await alertmanager?.stop()
      await webhook?.close()
    })

    it('routes our alerts through Alertmanager, firing then resolved, with our fingerprint and fields', async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/alerts/receivers',
        headers: t.auth(),
        payload: { name: 'am', kind: 'alertmanager', url: alertmanager.url },
      })
      expect(created.statusCode).toBe(201)
      const signal = controlledSignal(t.app)
      let clock = Date.now()
      signal.set(5, { case: 'am' })
      await tickAndEvaluate(t.app, (clock = Math.max(clock + 1000, Date.now())))
      const firing = await waitFor(
        'Alertmanager’s firing webhook',
        () => webhook.requests.find((r) => r.json?.status === 'firing'),
        30_000,
      )

      const [ours] = (await t.app.inject({ method: 'GET', url: '/api/alerts', headers: t.auth() })).json().alerts
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

      signal.set(0, { case: 'am' })
      await tickAndEvaluate(t.app, (clock = Math.max(clock + 1000, Date.now())))
      const resolved = await waitFor(
        'Alertmanager’s resolved webhook',
        () => webhook.requests.find((r) => r.json?.status === 'resolved'),
        30_000,
      )
      expect(resolved.json.alerts[0].fingerprint).toBe(ours.fingerprint)
    }, 60_000)
  })
}
