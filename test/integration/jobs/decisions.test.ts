import { describe, expect, it } from 'vitest'
import { missedOccurrenceKey } from '../../../server/jobs/catch-up.js'
import { planVacuum } from '../../../server/insights/maintenance/vacuum-plan.js'
import { describeSchedule, scheduleProblem, schedulePeriodMs } from '../../../server/jobs/schedule.js'
import type { TableStats } from '../../../server/insights/catalog.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR

describe('catch-up decision', () => {
  const now = new Date('2026-11-21T12:00:00Z')
  it('catches up once the last success is older than a period, keyed on that success', () => {
    const last = new Date(now.getTime() - 2 * DAY)
    expect(missedOccurrenceKey('once', last, DAY, now)).toBe(`catch-up:${last.toISOString()}`)
  })
  it('does nothing within the period, without a past success, or when the policy says none', () => {
    expect(missedOccurrenceKey('once', new Date(now.getTime() - HOUR), DAY, now)).toBeNull()
    expect(missedOccurrenceKey('once', undefined, DAY, now)).toBeNull()
    expect(missedOccurrenceKey('none', new Date(now.getTime() - 2 * DAY), DAY, now)).toBeNull()
  })
})

describe('schedules', () => {
  it('explains what is wrong with an invalid expression', () => {
    expect(scheduleProblem('*/15 * * * * *')).toBeNull()
    expect(scheduleProblem('0 0 25 * * *')).toMatch(/hour/)
    expect(scheduleProblem('every day')).toMatch(/fields/)
  })
  it('describes schedules in words and measures their period', () => {
    expect(describeSchedule('0 0 3 * * *')).toBe('At 03:00')
    expect(schedulePeriodMs([new Date(0), new Date(DAY)])).toBe(DAY)
    expect(schedulePeriodMs([new Date(0)])).toBeNull()
  })
})

describe('vacuum plan', () => {
  const base: TableStats = {
    name: 't',
    liveTuples: 10_000,
    deadTuples: 0,
    modsSinceAnalyze: 0,
    seqScans: 0,
    idxScans: 0,
    totalBytes: 0,
    tableBytes: 0,
    indexBytes: 0,
    lastVacuum: null,
    lastAutovacuum: null,
    lastAnalyze: new Date(),
    lastAutoanalyze: null,
  }
  const thresholds = { minDeadTuples: 1_000, deadTupleRatio: 0.1, analyzeMinChanges: 1_000, analyzeChangeRatio: 0.1 }
  const plan = (tables: TableStats[]) => {
    const p = planVacuum(tables, thresholds)
    return { vacuum: p.vacuum.map((t) => t.name), analyze: p.analyze.map((t) => t.name) }
  }

  it('vacuums tables past both the dead-tuple count and ratio', () => {
    expect(
      plan([
        { ...base, name: 'bloated', deadTuples: 5_000 },
        { ...base, name: 'few', deadTuples: 500, liveTuples: 100 },
        { ...base, name: 'big', deadTuples: 5_000, liveTuples: 1_000_000 },
      ]),
    ).toEqual({ vacuum: ['bloated'], analyze: [] })
  })

  it('analyzes tables with stale or missing statistics, not those being vacuumed', () => {
    expect(
      plan([
        { ...base, name: 'stale', modsSinceAnalyze: 2_000 },
        { ...base, name: 'fresh', modsSinceAnalyze: 10 },
        { ...base, name: 'never', modsSinceAnalyze: 5, lastAnalyze: null },
        { ...base, name: 'bloated', deadTuples: 5_000, modsSinceAnalyze: 5_000 },
      ]),
    ).toEqual({ vacuum: ['bloated'], analyze: ['stale', 'never'] })
  })
})
