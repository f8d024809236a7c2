import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseDuration } from '../../../alerts/duration.js'
import { loadRulesYaml, RuleFileError, validateRule } from '../../../alerts/rule.js'

const valid = { name: 'HighValue', signal: 'http_error_ratio', op: '>', threshold: 0.05, severity: 'critical' }

function errorsOf(input: unknown) {
  const result = validateRule(input)
  if (result.ok) throw new Error('expected the rule to be rejected')
  return result.errors
}

describe('rule schema', () => {
  it('fills the defaults of a minimal rule', () => {
    const result = validateRule(valid)
    expect(result).toEqual({
      ok: true,
      rule: {
        ...valid,
        matchers: {},
        for: '0s',
        keepFiringFor: '0s',
        repeatInterval: '4h',
        labels: {},
        annotations: {},
        enabled: true,
      },
    })
  })

  it.each([
    [{ ...valid, op: '=>' }, '/op', 'must be one of ">", ">=", "<", "<=", "==", "!="'],
    [{ ...valid, for: '5 minutes' }, '/for', 'must be a duration like 30s, 5m or 1h30m'],
    [{ ...valid, threshold: 'high' }, '/threshold', 'must be a number'],
    [{ ...valid, severity: 'page' }, '/severity', 'must be one of "info", "warning", "critical"'],
    [{ ...valid, treshold: 1 }, '/treshold', 'is not a known field'],
    [{ ...valid, name: 'High Value' }, '/name', 'must match'],
    [{ ...valid, over: { window: '5m', fn: 'sum' } }, '/over/fn', 'must be one of "avg", "max", "min"'],
    [{ ...valid, over: { window: '0s', fn: 'avg' } }, '/over/window', 'longer than 0s'],
    [{ ...valid, labels: { severity: 'page' } }, '/labels/severity', "is set from the rule's severity"],
    [{ ...valid, labels: { 'bad-name': 'x' } }, '/labels/bad-name', 'is not a valid name'],
    [{ ...valid, annotations: { summary: 'at {{ $val }}' } }, '/annotations/summary', 'only $value and $labels.<name>'],
    [
      { ...valid, annotations: { summary: 'at {{ $value | shout }}' } },
      '/annotations/summary',
      'unknown function "shout"',
    ],
    [{ ...valid, annotations: { summary: 'at {{ $value' } }, '/annotations/summary', 'unclosed'],
    [{ ...valid, repeatInterval: '0s' }, '/repeatInterval', 'longer than 0s'],
    [{ ...valid, for: '30d' }, '/for', 'at most 7d'],
  ])('points at the field: %j', (input, path, message) => {
    const [first] = errorsOf(input)
    expect(first!.path).toBe(path)
    expect(first!.message).toContain(message)
  })

  it('names a missing field', () => {
    const { signal: _, ...withoutSignal } = valid
    expect(errorsOf(withoutSignal)).toEqual([{ path: '/signal', message: 'is required' }])
  })

  it('parses Prometheus durations', () => {
    expect(parseDuration('0s')).toBe(0)
    expect(parseDuration('0')).toBe(0)
    expect(parseDuration('250ms')).toBe(250)
    expect(parseDuration('1h30m')).toBe(5_400_000)
    expect(parseDuration('2d')).toBe(172_800_000)
    expect(parseDuration('5')).toBeNull()
    expect(parseDuration('1.5m')).toBeNull()
  })
})

describe('rules file', () => {
  it('loads a file and fills defaults', () => {
    const rules = loadRulesYaml(
      'rules:\n  - name: A\n    signal: x\n    op: "<"\n    threshold: 1\n    severity: info\n',
    )
    expect(rules.map((r) => [r.name, r.op, r.for])).toEqual([['A', '<', '0s']])
  })

  it('names the rule and the field of every problem', () => {
    const text = [
      'rules:',
      '  - name: Good',
      '    signal: x',
      '    op: ">"',
      '    threshold: 1',
      '    severity: info',
      '  - name: Bad',
      '    signal: x',
      '    op: ">"',
      '    threshold: 1',
      '    severity: info',
      '    over: { window: soon, fn: avg }',
      '  - signal: x',
      '    op: ">"',
      '    threshold: 1',
      '    severity: info',
      '  - name: Good',
      '    signal: y',
      '    op: ">"',
      '    threshold: 1',
      '    severity: info',
    ].join('\n')
    const error = (() => {
      try {
        loadRulesYaml(text)
      } catch (err) {
        return err
      }
    })()
    expect(error).toBeInstanceOf(RuleFileError)
    expect((error as RuleFileError).problems).toEqual([
      'rule "Bad" (rules[1]): over.window must be a duration like 30s, 5m or 1h30m',
      'rules[2]: name is required',
      'rule "Good" (rules[3]): name is used by an earlier rule',
    ])
  })

  it('reports YAML syntax errors with their line', () => {
    expect(() => loadRulesYaml('rules:\n  - name: [unclosed\n')).toThrow(/not valid YAML at line \d/)
    expect(() => loadRulesYaml('- name: A')).toThrow(/"rules:" list/)
  })

  it('ships the default rules with the seed thresholds', () => {
    const rules = loadRulesYaml(readFileSync(new URL('../../../alerts/rules/default.yaml', import.meta.url), 'utf8'))
    const summary = Object.fromEntries(
      rules.map((r) => [
        r.name,
        `${r.signal}${Object.keys(r.matchers).length ? JSON.stringify(r.matchers) : ''} ${r.op} ${r.threshold} ${r.severity}`,
      ]),
    )
    expect(summary).toEqual({
      HighResponseTime: 'http_latency_p95_seconds > 2 warning',
      HighErrorRate: 'http_error_ratio > 0.05 critical',
      HighMemoryUsage: 'system_memory_usage_ratio > 0.9 warning',
      HighCpuUsage: 'system_cpu_usage_ratio > 0.8 warning',
      LowCacheHitRatio: 'cache_hit_ratio < 0.7 warning',
      DiskAlmostFull: 'system_disk_usage_ratio > 0.85 warning',
      DatabaseDown: 'health_up{"component":"database"} == 0 critical',
      CacheDown: 'health_up{"component":"redis"} == 0 critical',
      ProviderDown: 'health_up{"component":"upstream"} == 0 critical',
      AllUpstreamsDown: 'upstream_healthy_deployments == 0 critical',
      JobFailing: 'job_failing == 1 warning',
      SlowTimeToFirstToken: 'chat_ttft_p95_seconds > 5 warning',
      HighEventLoopLag: 'event_loop_delay_p99_seconds > 0.5 warning',
      BudgetNearlyExhausted: 'budget_used_ratio > 0.8 warning',
    })
  })
})
