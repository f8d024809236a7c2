import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { AlertNotification, AlertState } from '../../../alerts/state.js'
import {
  planNotifications,
  planResends,
  receiverAccepts,
  renderRequest,
  type Receiver,
} from '../../../alerts/routing.js'
import { classifyStatus, retryDelayMs } from '../../../server/alerts/notification/delivery.js'
import { webhookReceiver } from '../../../server/alerts/notification/receiver-repository.js'
import { signBody } from '../../../server/alerts/notification/signature.js'

const receiver = (overrides: Partial<Receiver> = {}): Receiver => ({
  id: 'r1',
  ...webhookReceiver({ name: 'ops', format: 'alertmanager', url: 'https://hooks.example.com/x' }),
  ...overrides,
})

const notification = (
  alertname: string,
  severity: AlertNotification['severity'],
  status: 'firing' | 'resolved' = 'firing',
  extra: Record<string, string> = {},
): AlertNotification => ({
  fingerprint: `${alertname}-${JSON.stringify(extra)}`,
  rule: alertname,
  severity,
  status,
  reason: status === 'firing' ? 'firing' : 'resolved',
  labels: { alertname, severity, ...extra },
  annotations: {},
  value: 1,
  startsAt: 0,
  endsAt: status === 'resolved' ? 1000 : null,
})

describe('receiver routing', () => {
  it('applies severities, matchers, sendResolved and enabled', () => {
    const critical = notification('A', 'critical')
    expect(receiverAccepts(receiver({ severities: ['critical'] }), critical)).toBe(true)
    expect(receiverAccepts(receiver({ severities: ['warning'] }), critical)).toBe(false)
    expect(receiverAccepts(receiver({ matchers: [{ name: 'alertname', op: '=~', value: 'A|B' }] }), critical)).toBe(
      true,
    )
    expect(receiverAccepts(receiver({ matchers: [{ name: 'alertname', op: '!=', value: 'A' }] }), critical)).toBe(false)
    expect(receiverAccepts(receiver({ sendResolved: false }), notification('A', 'critical', 'resolved'))).toBe(false)
    expect(receiverAccepts(receiver({ enabled: false }), critical)).toBe(false)
  })

  it('groups by the receiver’s group_by labels, one planned request per group', () => {
    const plans = planNotifications(
      [
        notification('A', 'warning', 'firing', { mount: '/' }),
        notification('A', 'warning', 'resolved', { mount: '/data' }),
        notification('B', 'info'),
      ],
      [receiver(), receiver({ id: 'r2', name: 'all-in-one', groupBy: [] })],
    )
    expect(plans.map((p) => [p.receiver.name, p.groupKey, p.reason, p.alerts.length])).toEqual([
      ['ops', '{}:{alertname="A"}', 'firing,resolved', 2],
      ['ops', '{}:{alertname="B"}', 'firing', 1],
      ['all-in-one', '{}:{}', 'firing,resolved', 3],
    ])
  })

  it('posts Alertmanager receivers to /api/v2/alerts and webhooks to their URL', () => {
    const plan = { receiver: receiver({ kind: 'alertmanager', url: 'http://am:9093/' }), groupLabels: {}, alerts: [] }
    expect(renderRequest(plan, 'https://ccp', 0).url).toBe('http://am:9093/api/v2/alerts')
    expect(renderRequest({ ...plan, receiver: receiver({ format: 'slack' }) }, 'https://ccp', 0)).toEqual({
      url: 'https://hooks.example.com/x',
      body: expect.stringMatching(/^\{"text":/),
    })
  })
})

describe('Alertmanager resends', () => {
  const state = (fingerprint: string, overrides: Partial<AlertState> = {}): AlertState => ({
    fingerprint,
    rule: 'A',
    severity: 'warning',
    labels: { alertname: 'A', severity: 'warning', id: fingerprint },
    annotations: {},
    state: 'firing',
    value: 1,
    activeSince: 0,
    firingSince: 5,
    keepFiringSince: null,
    lastNotifiedAt: 5,
    ack: null,
    ...overrides,
  })

  it('re-sends the firing alerts Alertmanager already heard of, except those just sent', () => {
    const states = [
      state('a'),
      state('b', { state: 'pending', firingSince: null, lastNotifiedAt: null }),
      state('c', { lastNotifiedAt: null }),
      state('d'),
      state('e', { severity: 'critical', labels: { alertname: 'A', severity: 'critical' } }),
    ]
    const plan = planResends(states, receiver({ kind: 'alertmanager', severities: ['warning'] }), new Set(['d']))
    expect(plan?.reason).toBe('resend')
    expect(plan?.alerts.map((a) => [a.fingerprint, a.status, a.startsAt, a.endsAt])).toEqual([['a', 'firing', 5, null]])
    expect(planResends([state('d')], receiver({ kind: 'alertmanager' }), new Set(['d']))).toBeNull()
  })
})

describe('delivery rules', () => {
  it.each([
    [200, 'delivered'],
    [204, 'delivered'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
    [400, 'failed'],
    [401, 'failed'],
    [404, 'failed'],
    [410, 'failed'],
    [302, 'failed'],
  ])('HTTP %i → %s', (status, outcome) => {
    expect(classifyStatus(status)).toBe(outcome)
  })

  it('backs off exponentially, capped, and honours a longer Retry-After up to the cap', () => {
    const settings = { retryBaseMs: 1000, retryMaxDelayMs: 60_000 }
    expect([1, 2, 3, 4, 7, 50].map((n) => retryDelayMs(n, settings))).toEqual([1000, 2000, 4000, 8000, 60_000, 60_000])
    expect(retryDelayMs(1, settings, 30_000)).toBe(30_000)
    expect(retryDelayMs(1, settings, 600_000)).toBe(60_000)
  })

  it('signs the exact body with HMAC-SHA256', () => {
    expect(signBody('{"a":1}', 'k')).toBe(`sha256=${createHmac('sha256', 'k').update('{"a":1}').digest('hex')}`)
  })
})
