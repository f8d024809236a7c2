import type { TableStats } from '../catalog.js'

export interface VacuumThresholds {
  minDeadTuples: number
  deadTupleRatio: number
  analyzeMinChanges: number
  analyzeChangeRatio: number
}

export interface VacuumPlan {
  /** Enough dead tuples, in number and share: VACUUM (ANALYZE). */
  vacuum: TableStats[]
  /** Statistics stale (many changes since the last analyze, or never analyzed): ANALYZE. */
  analyze: TableStats[]
}

export const deadRatio = (t: Pick<TableStats, 'liveTuples' | 'deadTuples'>): number =>
  t.liveTuples + t.deadTuples === 0 ? 0 : t.deadTuples / (t.liveTuples + t.deadTuples)

/** Which tables need what, from their statistics alone. */
export function planVacuum(tables: TableStats[], thresholds: VacuumThresholds): VacuumPlan {
  const vacuum = tables.filter(
    (t) => t.deadTuples > 0 && t.deadTuples >= thresholds.minDeadTuples && deadRatio(t) >= thresholds.deadTupleRatio,
  )
  const analyze = tables.filter((t) => {
    if (vacuum.includes(t) || t.modsSinceAnalyze === 0) return false
    const neverAnalyzed = !t.lastAnalyze && !t.lastAutoanalyze
    if (neverAnalyzed) return true
    return (
      t.modsSinceAnalyze >= thresholds.analyzeMinChanges &&
      t.modsSinceAnalyze >= thresholds.analyzeChangeRatio * Math.max(1, t.liveTuples)
    )
  })
  return { vacuum, analyze }
}
