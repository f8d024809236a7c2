import { describe, expect, it } from 'vitest'
import { bodyTemplateProblem, renderBodyTemplate } from '../../../alerts/kinds/body-template.js'
import { renderers } from '../../../alerts/kinds/index.js'
import { alertmanagerWebhook, type PayloadAlert } from '../../../alerts/payload.js'
import type { Receiver } from '../../../alerts/routing.js'
import { webhookReceiver } from '../../../server/alerts/notification/receiver-repository.js'

const receiver = (overrides: Partial<Receiver>): Receiver => ({
  id: 'r1',
  ...webhookReceiver({ name: 'ops', format: 'alertmanager', url: 'https://hooks.example.com/x' }),
  ...overrides,
})
const alert = (i: number, long = ''): PayloadAlert => ({
  fingerprint: i.toString(16).padStart(16, '0'),
  status: i % 2 ? 'resolved' : 'firing',
  labels: { alertname: `A${i}`, severity: 'critical', instance: `host-${i}` },
  annotations: { summary: `summary ${i} ${long}`, description: long },
  startsAt: 0,
  endsAt: i % 2 ? 1000 : null,
})
const render = (r: Receiver, alerts: PayloadAlert[]) =>
  JSON.parse(
    renderers[r.kind]({ receiver: r, groupLabels: { alertname: 'A' }, alerts }, { externalURL: 'https://ccp', now: 0 })
      .body,
  )

describe('receiver kind renderers', () => {
  it('discord stays within its limits with many long alerts', () => {
    const body = render(
      receiver({ kind: 'discord' }),
      Array.from({ length: 30 }, (_, i) => alert(i, 'x'.repeat(5000))),
    )
    expect(body.embeds).toHaveLength(10)
    const total = body.embeds.reduce(
      (n: number, e: any) =>
        n +
        e.title.length +
        (e.description ?? '').length +
        e.fields.reduce((m: number, f: any) => m + f.name.length + f.value.length, 0),
      0,
    )
    expect(total).toBeLessThanOrEqual(6000)
    for (const e of body.embeds) expect(e.title.length).toBeLessThanOrEqual(256)
    expect(body.content).toContain('(+20 more)')
  })

  it('telegram text stays within 4096 characters and escapes HTML', () => {
    const r = receiver({ kind: 'telegram', settings: { telegram: { chatId: '42' } } })
    const many = render(
      r,
      Array.from({ length: 200 }, (_, i) => alert(i, 'y'.repeat(100))),
    )
    expect(many.text.length).toBeLessThanOrEqual(4096)
    expect(many.chat_id).toBe('42')
    expect(render(r, [{ ...alert(0), annotations: { summary: '<b>&' } }]).text).toContain('&lt;b&gt;&amp;')
  })

  it('pagerduty: trigger for firing, resolve for resolved, dedup_key the fingerprint', () => {
    const events = render(receiver({ kind: 'pagerduty' }), [alert(0), alert(1)])
    expect(events.map((e: any) => [e.event_action, e.dedup_key])).toEqual([
      ['trigger', alert(0).fingerprint],
      ['resolve', alert(1).fingerprint],
    ])
    expect(events[0].routing_key).toBeUndefined()
  })

  it('body templates: placeholders, json and len; problems named', () => {
    const payload = alertmanagerWebhook({
      receiver: 'ops',
      externalURL: 'https://ccp',
      groupLabels: { alertname: 'A' },
      alerts: [alert(0)],
    })
    const body = renderBodyTemplate(
      '{"s":"{{ .Status }}","q":"{{ .CommonAnnotations.summary }}","n":{{ len .Alerts }},"g":{{ json .GroupLabels }}}',
      {
        ...payload,
        commonAnnotations: { summary: 'say "hi"\n' },
      },
    )
    expect(JSON.parse(body)).toEqual({ s: 'firing', q: 'say "hi"\n', n: 1, g: { alertname: 'A' } })
    expect(bodyTemplateProblem('{"a": "{{ .Nope }}"}', payload)).toBe('uses unknown field .Nope')
    expect(bodyTemplateProblem('{"a": "{{ .Alerts }}"}', payload)).toMatch(/json \.Alerts/)
    expect(bodyTemplateProblem('{"a": {{ .Status }}}', payload)).toBe('does not render to valid JSON')
    expect(bodyTemplateProblem('{"a": "{{ .Status"}', payload)).toBe('has an unclosed {{')
  })
})
