import { describe, expect, it } from 'vitest'
import { bodyFromForm, emptyForm, formFromRule, parsePairs } from '../src/features/alerts/rule-form.js'
import type { AlertRule } from '../../server/contract/index.js'

const rule: AlertRule = {
  name: 'DiskAlmostFull',
  signal: 'system_disk_usage_ratio',
  matchers: { mount: '/data' },
  over: { window: '5m', fn: 'max' },
  op: '>',
  threshold: 0.85,
  for: '5m',
  keepFiringFor: '0s',
  repeatInterval: '4h',
  severity: 'warning',
  labels: { team: 'platform' },
  annotations: { summary: 'Disk {{ $labels.mount }} is full', runbook: 'https://runbooks/disk' },
  enabled: true,
}

describe('the rule form', () => {
  it('gives back the rule it was filled from', () => {
    const { body, problems } = bodyFromForm(formFromRule(rule))
    expect(problems.size).toBe(0)
    expect(body).toEqual(rule)
  })

  it('sends a threshold that is not a number as typed, for the server to name the field', () => {
    const form = { ...emptyForm(), name: 'X', signal: 'system_cpu_usage_ratio', threshold: 'lots' }
    expect(bodyFromForm(form).body.threshold).toBe('lots')
    expect('threshold' in bodyFromForm({ ...form, threshold: '  ' }).body).toBe(false)
    expect(bodyFromForm({ ...form, threshold: '0.8' }).body.threshold).toBe(0.8)
  })

  it('leaves the window out when unchecked', () => {
    const form = { ...formFromRule(rule), useWindow: false }
    expect(bodyFromForm(form).body.over).toBeUndefined()
  })

  it('reports a label list that is not name=value', () => {
    expect(parsePairs('a=1, b = 2')).toEqual({ map: { a: '1', b: '2' }, problem: null })
    expect(parsePairs('a=1, oops').problem).toBe('"oops" is not name=value')
    expect(bodyFromForm({ ...formFromRule(rule), matchers: 'mount' }).problems.get('/matchers')).toBe(
      '"mount" is not name=value',
    )
  })
})
