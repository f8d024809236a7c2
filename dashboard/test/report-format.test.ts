import { describe, expect, it } from 'vitest'
import { columnsOf, formatReportValue, humanizeKey } from '../src/lib/report-format.js'

describe('job report values', () => {
  it('take their unit from the key that holds them', () => {
    expect(formatReportValue('durationMs', 1500)).toBe('1.50 s')
    expect(formatReportValue('sizeBytes', 2048)).toBe('2.00 KiB')
    expect(formatReportValue('deadRatioBefore', 0.25)).toBe('25.0 %')
    expect(formatReportValue('hitRate', 0.5)).toBe('50.0 %')
    expect(formatReportValue('deadTuplesBefore', 12345)).toBe('12,345')
    // "items" ends in "ms" but is no duration.
    expect(formatReportValue('items', 3)).toBe('3')
  })

  it('write missing values and flags in words', () => {
    expect(formatReportValue('deadTuplesAfter', null)).toBe('—')
    expect(formatReportValue('transient', false)).toBe('no')
  })

  it('name keys in words, without the unit suffix', () => {
    expect(humanizeKey('deadTuplesBefore')).toBe('dead tuples before')
    expect(humanizeKey('durationMs')).toBe('duration')
    expect(humanizeKey('heap_blks_total')).toBe('heap blks total')
  })

  it('make table columns of the keys of every row, in first-seen order', () => {
    expect(
      columnsOf([
        { table: 'a', action: 'vacuum' },
        { table: 'b', error: 'x' },
      ]),
    ).toEqual(['table', 'action', 'error'])
  })
})
