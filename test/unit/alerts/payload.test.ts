import { describe, expect, it } from 'vitest'
import {
  alertmanagerPostableAlerts,
  alertmanagerWebhook,
  slackMessage,
  ZERO_TIME,
  type PayloadAlert,
} from '../../../alerts/payload.js'

const T0 = Date.parse('2026-11-21T10:00:00Z')
const firing: PayloadAlert = {
  fingerprint: '0a1b2c3d4e5f6789',
  status: 'firing',
  labels: { alertname: 'DiskAlmostFull', mount: '/data', severity: 'warning' },
  annotations: { summary: 'Disk /data is 91% full', description: 'Above 85%.' },
  startsAt: T0,
  endsAt: null,
}
const resolved: PayloadAlert = {
  fingerprint: 'ffeeddccbbaa0099',
  status: 'resolved',
  labels: { alertname: 'DiskAlmostFull', mount: '/', severity: 'warning' },
  annotations: { summary: 'Disk / is 86% full', description: 'Above 85%.' },
  startsAt: T0 - 60_000,
  endsAt: T0 + 5_000,
}
const group = { receiver: 'ops', externalURL: 'https://ccp.example.com', groupLabels: { alertname: 'DiskAlmostFull' } }

describe('Alertmanager webhook v4', () => {
  const body = alertmanagerWebhook({ ...group, alerts: [firing, resolved] })

  it('has every top-level field of the v4 format', () => {
    expect(Object.keys(body).sort()).toEqual(
      [
        'alerts',
        'commonAnnotations',
        'commonLabels',
        'externalURL',
        'groupKey',
        'groupLabels',
        'receiver',
        'status',
        'truncatedAlerts',
        'version',
      ].sort(),
    )
    expect(body.version).toBe('4')
    expect(body.groupKey).toBe('{}:{alertname="DiskAlmostFull"}')
    expect(body.truncatedAlerts).toBe(0)
    expect(body.receiver).toBe('ops')
    expect(body.externalURL).toBe('https://ccp.example.com')
    expect(body.groupLabels).toEqual({ alertname: 'DiskAlmostFull' })
  })

  it('is firing while any alert fires, resolved when all have', () => {
    expect(body.status).toBe('firing')
    expect(alertmanagerWebhook({ ...group, alerts: [resolved] }).status).toBe('resolved')
  })

  it('carries the labels and annotations every alert shares', () => {
    expect(body.commonLabels).toEqual({ alertname: 'DiskAlmostFull', severity: 'warning' })
    expect(body.commonAnnotations).toEqual({ description: 'Above 85%.' })
  })

  it('describes each alert with status, labels, annotations, times, link and fingerprint', () => {
    expect(body.alerts).toEqual([
      {
        status: 'firing',
        labels: firing.labels,
        annotations: firing.annotations,
        startsAt: '2026-11-21T10:00:00.000Z',
        endsAt: ZERO_TIME,
        generatorURL: 'https://ccp.example.com/alerts?fingerprint=0a1b2c3d4e5f6789',
        fingerprint: '0a1b2c3d4e5f6789',
      },
      {
        status: 'resolved',
        labels: resolved.labels,
        annotations: resolved.annotations,
        startsAt: '2026-11-21T09:59:00.000Z',
        endsAt: '2026-11-21T10:00:05.000Z',
        generatorURL: 'https://ccp.example.com/alerts?fingerprint=ffeeddccbbaa0099',
        fingerprint: 'ffeeddccbbaa0099',
      },
    ])
    expect(ZERO_TIME).toBe('0001-01-01T00:00:00Z')
  })
})

describe('Slack message', () => {
  it('titles the group like Alertmanager and lists each alert', () => {
    const { text } = slackMessage({ ...group, alerts: [firing, resolved] })
    expect(text.split('\n')).toEqual([
      '[FIRING:1] DiskAlmostFull',
      '• [warning] Disk /data is 91% full {mount="/data"}',
      '   Above 85%.',
      '• RESOLVED [warning] Disk / is 86% full {mount="/"}',
      '   Above 85%.',
      '<https://ccp.example.com/alerts|Open the dashboard>',
    ])
    expect(slackMessage({ ...group, alerts: [resolved] }).text.startsWith('[RESOLVED] DiskAlmostFull')).toBe(true)
  })
})

describe('Alertmanager API v2 postable alerts', () => {
  it('sends firing alerts valid for a while and resolved ones with their end', () => {
    const alerts = alertmanagerPostableAlerts([firing, resolved], {
      externalURL: 'https://ccp.example.com',
      now: T0 + 10_000,
      validForMs: 240_000,
    })
    expect(alerts).toEqual([
      {
        labels: firing.labels,
        annotations: firing.annotations,
        startsAt: '2026-11-21T10:00:00.000Z',
        endsAt: '2026-11-21T10:04:10.000Z',
        generatorURL: 'https://ccp.example.com/alerts?fingerprint=0a1b2c3d4e5f6789',
      },
      {
        labels: resolved.labels,
        annotations: resolved.annotations,
        startsAt: '2026-11-21T09:59:00.000Z',
        endsAt: '2026-11-21T10:00:05.000Z',
        generatorURL: 'https://ccp.example.com/alerts?fingerprint=ffeeddccbbaa0099',
      },
    ])
  })
})
