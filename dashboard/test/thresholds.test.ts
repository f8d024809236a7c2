import { describe, expect, it } from 'vitest'
import { describeThresholds, levelFor, type ThresholdRule } from '../src/lib/thresholds.js'

const rules: ThresholdRule[] = [
  { signal: 'system_cpu_usage_ratio', op: '>', threshold: 0.8, severity: 'warning' },
  { signal: 'system_cpu_usage_ratio', op: '>', threshold: 0.95, severity: 'critical' },
  { signal: 'cache_hit_ratio', op: '<', threshold: 0.7, severity: 'warning', matchers: { cache_type: 'ai_response' } },
  { signal: 'http_error_ratio', op: '>', threshold: 0.05, severity: 'critical', enabled: false },
]

describe('tile levels from the alert rules', () => {
  it('takes the worst severity whose condition the value meets', () => {
    expect(levelFor('system_cpu_usage_ratio', {}, 0.5, rules)).toBe('ok')
    expect(levelFor('system_cpu_usage_ratio', {}, 0.9, rules)).toBe('warning')
    expect(levelFor('system_cpu_usage_ratio', {}, 0.99, rules)).toBe('critical')
  })

  it('applies a rule only to the label sets its matchers select', () => {
    expect(levelFor('cache_hit_ratio', { cache_type: 'ai_response' }, 0.5, rules)).toBe('warning')
    expect(levelFor('cache_hit_ratio', { cache_type: 'models' }, 0.5, rules)).toBeNull()
  })

  it('stays neutral without a rule, without a value, and for disabled rules', () => {
    expect(levelFor('process_rss_bytes', {}, 1e9, rules)).toBeNull()
    expect(levelFor('system_cpu_usage_ratio', {}, null, rules)).toBeNull()
    expect(levelFor('http_error_ratio', {}, 0.5, rules)).toBeNull()
  })

  it('explains the thresholds in the tooltip', () => {
    expect(describeThresholds('system_cpu_usage_ratio', rules, (n) => `${n * 100} %`)).toBe(
      'warning when > 80 %; critical when > 95 %',
    )
  })
})
