import { describe, expect, it } from 'vitest'
import { backtest } from '../../../alerts/backtest.js'
import { fingerprint, formatLabels, matcherMatches, type LabelMatcher } from '../../../alerts/labels.js'
import { validateRule } from '../../../alerts/rule.js'
import { silencesCovering } from '../../../alerts/silence.js'
import { expandTemplate } from '../../../alerts/template.js'
import type { SeriesSource } from '../../../alerts/window.js'

describe('labels', () => {
  it('fingerprints like Alertmanager: FNV-1a 64 over sorted labels, order-independent', () => {
    expect(fingerprint({})).toBe('cbf29ce484222325')
    expect(fingerprint({ b: '2', a: '1' })).toBe(fingerprint({ a: '1', b: '2' }))
    expect(fingerprint({ a: '1', b: '2' })).not.toBe(fingerprint({ a: '1', b: '3' }))
    // The separator keeps {a="bc"} and {ab="c"} apart.
    expect(fingerprint({ a: 'bc' })).not.toBe(fingerprint({ ab: 'c' }))
  })

  it('fingerprints ASCII and non-ASCII labels to the FNV-1a 64 values of their UTF-8 bytes', () => {
    // Reference values computed independently (Python, 64-bit integers) for these label sets.
    expect(fingerprint({ alertname: 'HighErrorRate', severity: 'critical', route: '/v1/chat/completions' })).toBe(
      '9405639a4830b962',
    )
    expect(fingerprint({ name: 'café ☕', ü: 'ø' })).toBe('5b0d2cd07e1be28f')
  })

  it.each<[LabelMatcher, boolean]>([
    [{ name: 'severity', op: '=', value: 'critical' }, true],
    [{ name: 'severity', op: '!=', value: 'critical' }, false],
    [{ name: 'alertname', op: '=~', value: 'High.*' }, true],
    [{ name: 'alertname', op: '=~', value: 'Error' }, false],
    [{ name: 'alertname', op: '!~', value: 'Disk.*' }, true],
    [{ name: 'team', op: '=', value: '' }, true],
    [{ name: 'alertname', op: '=~', value: '(' }, false],
  ])('matcher %j → %s', (matcher, expected) => {
    expect(matcherMatches(matcher, { alertname: 'HighErrorRate', severity: 'critical' })).toBe(expected)
  })

  it('prints label sets sorted', () => {
    expect(formatLabels({ b: 'x"y', a: '1' })).toBe('{a="1", b="x\\"y"}')
  })
})

describe('silences', () => {
  it('covers matching alerts only between start and end, and never with no matchers', () => {
    const s = {
      id: 's',
      matchers: [{ name: 'severity', op: '=' as const, value: 'warning' }],
      startsAt: 100,
      endsAt: 200,
    }
    const labels = { alertname: 'A', severity: 'warning' }
    expect(silencesCovering(labels, [s], 99)).toEqual([])
    expect(silencesCovering(labels, [s], 100)).toEqual(['s'])
    expect(silencesCovering(labels, [s], 200)).toEqual([])
    expect(silencesCovering({ ...labels, severity: 'critical' }, [s], 150)).toEqual([])
    expect(silencesCovering(labels, [{ ...s, matchers: [] }], 150)).toEqual([])
  })
})

describe('templates', () => {
  const data = { value: 0.12345678, labels: { job: 'vacuum' } }
  it.each([
    ['{{ $value }}', '0.123457'],
    ['{{ $labels.job }} / {{ $labels.missing }}.', 'vacuum / .'],
    ['{{ $value | humanizePercentage }}', '12.3457%'],
    ['{{ $value | humanizeDuration }}', '123.5ms'],
    ['{{$value|humanize}}', '0.1235'],
  ])('%s → %s', (template, expected) => {
    expect(expandTemplate(template, data)).toBe(expected)
  })

  it('humanizes big numbers and long durations', () => {
    expect(expandTemplate('{{ $value | humanize }}', { value: 1_234_567, labels: {} })).toBe('1.235M')
    expect(expandTemplate('{{ $value | humanizeDuration }}', { value: 3725, labels: {} })).toBe('1h 2m 5s')
    expect(expandTemplate('{{ $value }}', { value: null, labels: {} })).toBe('n/a')
  })
})

describe('backtest', () => {
  it('replays the stored samples and reports when the rule would have fired and resolved', () => {
    const result = validateRule({ name: 'Busy', signal: 'rps', op: '>', threshold: 10, for: '2s', severity: 'info' })
    if (!result.ok) throw new Error('rule')
    const values = [1, 20, 20, 20, 20, 1, 1, 30, 30]
    const points = values.map((v, i) => [1000 * i, v] as [number, number])
    const series: SeriesSource = {
      query: (name, _m, since = 0) =>
        name === 'rps' ? [{ labels: {}, points: points.filter(([at]) => at >= since) }] : [],
    }
    const replay = backtest(result.rule, series, 0, 8000)
    expect(replay.evaluations).toBe(9)
    expect(replay.transitions.map((t) => `${t.at / 1000}:${t.from}→${t.to}`)).toEqual([
      '1:inactive→pending',
      '3:pending→firing',
      '5:firing→resolved',
      '7:inactive→pending',
    ])
    expect(replay.firing).toEqual([
      {
        fingerprint: expect.any(String),
        labels: { alertname: 'Busy', severity: 'info' },
        firedAt: 3000,
        resolvedAt: 5000,
      },
    ])
  })
})
