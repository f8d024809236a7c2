import { describe, expect, it } from 'vitest'
import {
  formatBytes,
  formatPercent,
  formatRelative,
  formatSeconds,
  formatText,
  formatValue,
} from '../src/lib/format.js'

describe('formatting numbers with their units', () => {
  it('shows ratios as percentages', () => {
    expect(formatPercent(0.1234)).toEqual({ value: '12.3', unit: '%' })
    expect(formatPercent(1)).toEqual({ value: '100', unit: '%' })
    expect(formatPercent(0)).toEqual({ value: '0', unit: '%' })
  })

  it('picks µs, ms, s, min or h for durations', () => {
    expect(formatSeconds(0.000_25)).toEqual({ value: '250', unit: 'µs' })
    expect(formatSeconds(0.0123)).toEqual({ value: '12.3', unit: 'ms' })
    expect(formatSeconds(1.5)).toEqual({ value: '1.50', unit: 's' })
    expect(formatSeconds(600)).toEqual({ value: '10.0', unit: 'min' })
    expect(formatSeconds(3 * 3600)).toEqual({ value: '3.00', unit: 'h' })
  })

  it('uses binary prefixes for bytes', () => {
    expect(formatBytes(512)).toEqual({ value: '512', unit: 'B' })
    expect(formatBytes(64 * 1024 * 1024)).toEqual({ value: '64.0', unit: 'MiB' })
  })

  it('names what a rate or a count counts', () => {
    expect(formatValue(3.456, 'per_second', 'req')).toEqual({ value: '3.46', unit: 'req/s' })
    expect(formatValue(12_345, 'count', 'keys')).toEqual({ value: '12,345', unit: 'keys' })
    expect(formatText(0.25, 'ratio')).toBe('25.0 %')
    expect(formatText(1, 'boolean')).toBe('up')
    expect(formatText(0, 'boolean')).toBe('down')
  })

  it('shows a dash, never a zero, when nothing was measured', () => {
    for (const unit of ['ratio', 'seconds', 'per_second', 'count', 'bytes', 'boolean'] as const) {
      expect(formatValue(null, unit).value).toBe('—')
      expect(formatText(null, unit)).toBe('—')
    }
  })

  it('keeps three significant digits so widths stay steady as values change', () => {
    const widths = [1.01, 2.5, 9.99].map((v) => formatSeconds(v).value.length)
    expect(new Set(widths).size).toBe(1)
  })

  it('says how long ago something happened', () => {
    const now = Date.parse('2026-11-21T12:00:00Z')
    expect(formatRelative(now - 5_000, now)).toBe('5 s ago')
    expect(formatRelative('2026-11-21T11:57:00Z', now)).toBe('3 min ago')
    expect(formatRelative(now + 2 * 3_600_000, now)).toBe('in 2 h')
  })
})
