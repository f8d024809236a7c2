import { describe, expect, it } from 'vitest'
import { evaluate, type AlertState } from '../../../alerts/evaluate.js'
import type { LabelMatcher, Labels } from '../../../alerts/labels.js'
import { validateRule, type AlertRule, type AlertRuleInput } from '../../../alerts/rule.js'
import type { Silence } from '../../../alerts/silence.js'
import type { SeriesSource } from '../../../alerts/window.js'

const T0 = Date.parse('2026-11-21T10:00:00Z')
const at = (seconds: number) => T0 + seconds * 1000

function rule(overrides: Partial<AlertRuleInput> = {}): AlertRule {
  const result = validateRule({
    name: 'HighValue',
    signal: 'x',
    op: '>',
    threshold: 1,
    severity: 'warning',
    ...overrides,
  })
  if (!result.ok) throw new Error(JSON.stringify(result.errors))
  return result.rule
}

/** One evaluation: the signal's value (or one value per `mount` label) at a time, and what must follow. */
interface Step {
  t: number
  value: number | null | Record<string, number | null>
  /** State of each alert after the step, by its `mount` label (or '' without labels); absent = inactive. */
  state?: Record<string, 'pending' | 'firing'>
  transitions?: string[]
  notify?: string[]
  silences?: Silence[]
  ack?: boolean
}

function run(rules: AlertRule[], steps: Step[]) {
  let states: AlertState[] = []
  for (const step of steps) {
    if (step.ack) states = states.map((s) => ({ ...s, ack: { by: 'alice', at: at(step.t), comment: 'on it' } }))
    const samples: Array<[Labels, number | null]> =
      step.value !== null && typeof step.value === 'object'
        ? Object.entries(step.value).map(([mount, value]) => [{ mount }, value])
        : [[{}, step.value]]
    const snapshot = { signals: samples.map(([labels, value]) => ({ name: 'x', labels, value })) }
    const result = evaluate(rules, snapshot, states, at(step.t), { silences: step.silences ?? [] })
    states = result.states
    const label = (labels: Labels) => labels.mount ?? ''
    const where = `at t=${step.t}s`
    expect(Object.fromEntries(states.map((s) => [label(s.labels), s.state])), where).toEqual(step.state ?? {})
    expect(
      result.transitions.map((t) => `${label(t.labels)}${t.from}→${t.to}`),
      where,
    ).toEqual(step.transitions ?? [])
    expect(
      result.notifications.map((n) => `${label(n.labels)}${n.reason}`),
      where,
    ).toEqual(step.notify ?? [])
  }
  return states
}

const silence = (
  startsAt: number,
  endsAt: number,
  matchers: LabelMatcher[] = [{ name: 'alertname', op: '=', value: 'HighValue' }],
): Silence => ({
  id: 's1',
  matchers,
  startsAt: at(startsAt),
  endsAt: at(endsAt),
})

const table: Array<{ name: string; rule: Partial<AlertRuleInput>; steps: Step[] }> = [
  {
    name: 'fires at once without `for`, notifies once, then resolves',
    rule: {},
    steps: [
      { t: 0, value: 0.5 },
      { t: 1, value: 5, state: { '': 'firing' }, transitions: ['inactive→firing'], notify: ['firing'] },
      { t: 2, value: 6, state: { '': 'firing' } },
      { t: 3, value: 0, transitions: ['firing→resolved'], notify: ['resolved'] },
    ],
  },
  {
    name: 'waits `for` in pending before firing',
    rule: { for: '30s' },
    steps: [
      { t: 0, value: 2, state: { '': 'pending' }, transitions: ['inactive→pending'] },
      { t: 29, value: 2, state: { '': 'pending' } },
      { t: 30, value: 2, state: { '': 'firing' }, transitions: ['pending→firing'], notify: ['firing'] },
      { t: 31, value: 0, transitions: ['firing→resolved'], notify: ['resolved'] },
    ],
  },
  {
    name: 'a pending alert whose condition clears goes inactive without any notification',
    rule: { for: '30s' },
    steps: [
      { t: 0, value: 2, state: { '': 'pending' }, transitions: ['inactive→pending'] },
      { t: 10, value: 0, transitions: ['pending→inactive'] },
      { t: 20, value: 2, state: { '': 'pending' }, transitions: ['inactive→pending'] },
    ],
  },
  {
    name: 'flapping without keepFiringFor fires and resolves on every flap',
    rule: {},
    steps: [
      { t: 0, value: 2, state: { '': 'firing' }, transitions: ['inactive→firing'], notify: ['firing'] },
      { t: 5, value: 0, transitions: ['firing→resolved'], notify: ['resolved'] },
      { t: 10, value: 2, state: { '': 'firing' }, transitions: ['inactive→firing'], notify: ['firing'] },
    ],
  },
  {
    name: 'flapping with keepFiringFor stays firing until the condition is false for that long',
    rule: { keepFiringFor: '20s' },
    steps: [
      { t: 0, value: 2, state: { '': 'firing' }, transitions: ['inactive→firing'], notify: ['firing'] },
      { t: 5, value: 0, state: { '': 'firing' } },
      { t: 10, value: 2, state: { '': 'firing' } },
      { t: 15, value: 0, state: { '': 'firing' } },
      { t: 34, value: 0, state: { '': 'firing' } },
      { t: 35, value: 0, transitions: ['firing→resolved'], notify: ['resolved'] },
    ],
  },
  {
    name: 'repeats while firing every repeatInterval',
    rule: { repeatInterval: '1m' },
    steps: [
      { t: 0, value: 2, state: { '': 'firing' }, transitions: ['inactive→firing'], notify: ['firing'] },
      { t: 59, value: 2, state: { '': 'firing' } },
      { t: 60, value: 2, state: { '': 'firing' }, notify: ['repeat'] },
      { t: 90, value: 2, state: { '': 'firing' } },
      { t: 120, value: 2, state: { '': 'firing' }, notify: ['repeat'] },
    ],
  },
  {
    name: 'a silence holds notifications back but not evaluation; when it ends the alert is sent',
    rule: {},
    steps: [
      { t: 0, value: 2, silences: [silence(0, 60)], state: { '': 'firing' }, transitions: ['inactive→firing'] },
      { t: 30, value: 2, silences: [silence(0, 60)], state: { '': 'firing' } },
      { t: 60, value: 2, silences: [silence(0, 60)], state: { '': 'firing' }, notify: ['firing'] },
      { t: 61, value: 0, silences: [silence(0, 60)], transitions: ['firing→resolved'], notify: ['resolved'] },
    ],
  },
  {
    name: 'an episode silenced from start to end sends nothing, not even resolved',
    rule: {},
    steps: [
      { t: 0, value: 2, silences: [silence(-10, 100)], state: { '': 'firing' }, transitions: ['inactive→firing'] },
      { t: 10, value: 0, silences: [silence(-10, 100)], transitions: ['firing→resolved'] },
    ],
  },
  {
    name: 'a silence whose matchers do not match, or that has not started, does nothing',
    rule: {},
    steps: [
      {
        t: 0,
        value: 2,
        silences: [silence(-10, 100, [{ name: 'alertname', op: '!=', value: 'HighValue' }]), silence(5, 100)],
        state: { '': 'firing' },
        transitions: ['inactive→firing'],
        notify: ['firing'],
      },
    ],
  },
  {
    name: 'an acknowledged firing alert stops repeating but its resolution is still sent',
    rule: { repeatInterval: '1m' },
    steps: [
      { t: 0, value: 2, state: { '': 'firing' }, transitions: ['inactive→firing'], notify: ['firing'] },
      { t: 10, value: 2, ack: true, state: { '': 'firing' } },
      { t: 70, value: 2, state: { '': 'firing' } },
      { t: 80, value: 0, transitions: ['firing→resolved'], notify: ['resolved'] },
      { t: 90, value: 2, state: { '': 'firing' }, transitions: ['inactive→firing'], notify: ['firing'] },
    ],
  },
  {
    name: 'an alert acknowledged while pending never notifies in that episode',
    rule: { for: '10s' },
    steps: [
      { t: 0, value: 2, state: { '': 'pending' }, transitions: ['inactive→pending'] },
      { t: 5, value: 2, ack: true, state: { '': 'pending' } },
      { t: 10, value: 2, state: { '': 'firing' }, transitions: ['pending→firing'] },
      { t: 20, value: 0, transitions: ['firing→resolved'] },
    ],
  },
  {
    name: 'one alert per label set, each with its own lifecycle',
    rule: {},
    steps: [
      {
        t: 0,
        value: { '/': 2, '/data': 0 },
        state: { '/': 'firing' },
        transitions: ['/inactive→firing'],
        notify: ['/firing'],
      },
      {
        t: 1,
        value: { '/': 2, '/data': 3 },
        state: { '/': 'firing', '/data': 'firing' },
        transitions: ['/datainactive→firing'],
        notify: ['/datafiring'],
      },
      {
        t: 2,
        value: { '/': 0, '/data': 3 },
        state: { '/data': 'firing' },
        transitions: ['/firing→resolved'],
        notify: ['/resolved'],
      },
    ],
  },
  {
    name: 'a null value (no traffic) never satisfies the rule, and a vanished series resolves',
    rule: {},
    steps: [
      { t: 0, value: null },
      {
        t: 1,
        value: { '/': 2 },
        state: { '/': 'firing' },
        transitions: ['/inactive→firing'],
        notify: ['/firing'],
      },
      { t: 2, value: {}, transitions: ['/firing→resolved'], notify: ['/resolved'] },
    ],
  },
]

describe('evaluate (table, fixed clock)', () => {
  it.each(table)('$name', ({ rule: overrides, steps }) => {
    run([rule(overrides)], steps)
  })

  it('compares with every operator', () => {
    const cases: Array<[AlertRuleInput['op'], number, boolean]> = [
      ['>', 2, true],
      ['>', 1, false],
      ['>=', 1, true],
      ['<', 0, true],
      ['<', 1, false],
      ['<=', 1, true],
      ['==', 1, true],
      ['==', 2, false],
      ['!=', 2, true],
      ['!=', 1, false],
    ]
    for (const [op, value, fires] of cases) {
      const result = evaluate([rule({ op })], { signals: [{ name: 'x', labels: {}, value }] }, [], at(0))
      expect(result.states.length, `${value} ${op} 1`).toBe(fires ? 1 : 0)
    }
  })

  it('gives alerts labels from the sample, the rule, alertname and severity, and a stable fingerprint', () => {
    const r = rule({ labels: { team: 'core' } })
    const a = evaluate([r], { signals: [{ name: 'x', labels: { mount: '/', zone: 'a' }, value: 2 }] }, [], at(0))
      .states[0]!
    const b = evaluate([r], { signals: [{ name: 'x', labels: { zone: 'a', mount: '/' }, value: 3 }] }, [], at(5))
      .states[0]!
    expect(a.labels).toEqual({ alertname: 'HighValue', mount: '/', severity: 'warning', team: 'core', zone: 'a' })
    expect(Object.keys(a.labels)).toEqual(['alertname', 'mount', 'severity', 'team', 'zone'])
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/)
    expect(b.fingerprint).toBe(a.fingerprint)
  })

  it('only considers samples whose labels match the rule matchers', () => {
    const r = rule({ signal: 'health_up', matchers: { component: 'database' }, op: '==', threshold: 0 })
    const signals = [
      { name: 'health_up', labels: { component: 'database' }, value: 0 },
      { name: 'health_up', labels: { component: 'redis' }, value: 0 },
    ]
    const states = evaluate([r], { signals }, [], at(0)).states
    expect(states.map((s) => s.labels.component)).toEqual(['database'])
  })

  it('templates annotations with the current value and labels on every evaluation', () => {
    const r = rule({
      annotations: { summary: 'Disk {{ $labels.mount }} at {{ $value | humanizePercentage }}', raw: '{{$value}}' },
    })
    const first = evaluate([r], { signals: [{ name: 'x', labels: { mount: '/data' }, value: 1.5 }] }, [], at(0))
    expect(first.states[0]!.annotations).toEqual({ summary: 'Disk /data at 150%', raw: '1.5' })
    expect(first.notifications[0]!.annotations.summary).toBe('Disk /data at 150%')
    const second = evaluate(
      [r],
      { signals: [{ name: 'x', labels: { mount: '/data' }, value: 1.25 }] },
      first.states,
      at(1),
    )
    expect(second.states[0]!.annotations).toEqual({ summary: 'Disk /data at 125%', raw: '1.25' })
    expect(second.states[0]!.value).toBe(1.25)
  })

  it('resolves the alerts of a rule that was removed or disabled', () => {
    const r = rule()
    const firing = evaluate([r], { signals: [{ name: 'x', labels: {}, value: 2 }] }, [], at(0)).states
    const disabled = evaluate(
      [{ ...r, enabled: false }],
      { signals: [{ name: 'x', labels: {}, value: 2 }] },
      firing,
      at(1),
    )
    expect(disabled.states).toEqual([])
    expect(disabled.transitions.map((t) => `${t.from}→${t.to}`)).toEqual(['firing→resolved'])
    expect(disabled.notifications.map((n) => n.reason)).toEqual(['resolved'])
  })

  it('reports startsAt as the firing time and endsAt as the resolution time', () => {
    const r = rule({ for: '10s' })
    const signals = (value: number) => ({ signals: [{ name: 'x', labels: {}, value }] })
    let states = evaluate([r], signals(2), [], at(0)).states
    const fired = evaluate([r], signals(2), states, at(10))
    expect(fired.notifications[0]).toMatchObject({ status: 'firing', startsAt: at(10), endsAt: null, value: 2 })
    states = fired.states
    const resolved = evaluate([r], signals(0), states, at(15))
    expect(resolved.notifications[0]).toMatchObject({ status: 'resolved', startsAt: at(10), endsAt: at(15), value: 0 })
  })

  it('with `over`, compares the window aggregate of the series instead of the latest sample', () => {
    const points: Array<[number, number | null]> = [
      [at(-50), 10],
      [at(-40), 0],
      [at(-30), null],
      [at(-20), 0],
      [at(0), 0],
    ]
    const series: SeriesSource = { query: (name) => (name === 'x' ? [{ labels: {}, points }] : []) }
    const sample = { signals: [{ name: 'x', labels: {}, value: 0 }] }
    const cases: Array<['avg' | 'max' | 'min', string, number]> = [
      ['avg', '1m', 2.5],
      ['max', '1m', 10],
      ['min', '1m', 0],
      ['max', '45s', 0],
    ]
    for (const [fn, window, expected] of cases) {
      const r = rule({ over: { window, fn }, op: '>=', threshold: 0 })
      expect(evaluate([r], sample, [], at(0), { series }).states[0]!.value, `${fn} over ${window}`).toBe(expected)
    }
  })

  it('does not change the state it is given', () => {
    const r = rule({ repeatInterval: '1m' })
    const before = evaluate([r], { signals: [{ name: 'x', labels: {}, value: 2 }] }, [], at(0)).states
    const copy = structuredClone(before)
    evaluate([r], { signals: [{ name: 'x', labels: {}, value: 2 }] }, before, at(120))
    expect(before).toEqual(copy)
  })
})
