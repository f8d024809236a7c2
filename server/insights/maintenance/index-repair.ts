import type { IndexStats } from '../catalog.js'
import { indexStats } from '../catalog.js'
import { isConcurrentReindexLeftover } from '../index-findings.js'
import type { MaintenanceSession } from './session.js'
import type { JobReport } from '../../jobs/types.js'
import { reindexConcurrently, timed } from './maintenance-sql.js'

export interface IndexAction {
  index: string
  table: string
  action: 'reindex' | 'create'
  reason: string
  durationMs: number
  error: string | null
  transient: boolean
}

export interface InvalidIndexReport {
  repaired: IndexAction[]
  /** Invalid because a CREATE INDEX / REINDEX is building them right now: left alone. */
  building: string[]
  /** Transient copies left by an interrupted REINDEX CONCURRENTLY: reported for an admin to drop. */
  leftovers: string[]
}

/** Rebuilds one index without blocking writes, and says how it went. */
export async function reindex(
  session: MaintenanceSession,
  schema: string,
  index: IndexStats,
  reason: string,
): Promise<IndexAction> {
  return {
    index: index.name,
    table: index.table,
    action: 'reindex',
    reason,
    ...(await timed(session.db, reindexConcurrently(schema, index.name))),
  }
}

/**
 * Invalid indexes (a failed CREATE INDEX CONCURRENTLY, a crash mid-build) answer no query but
 * still slow every write: REINDEX INDEX CONCURRENTLY makes them whole again.
 */
export async function repairInvalidIndexes(
  session: MaintenanceSession,
  schema: string,
  signal: AbortSignal,
  progress: (report: JobReport) => void,
  known?: IndexStats[],
): Promise<InvalidIndexReport> {
  const indexes = known ?? (await indexStats(session.db, schema))
  const report: InvalidIndexReport = { repaired: [], building: [], leftovers: [] }
  for (const index of indexes.filter((i) => !i.valid)) {
    if (index.building) report.building.push(index.name)
    else if (isConcurrentReindexLeftover(index.name)) report.leftovers.push(index.name)
    else {
      signal.throwIfAborted()
      progress({ step: 'reindex', index: index.name, reason: 'invalid' })
      report.repaired.push(await reindex(session, schema, index, 'invalid'))
    }
  }
  return report
}
