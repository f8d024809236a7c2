import type { Backend } from '../../../../server/insights/activity.js'
import type { OverviewCheck, OverviewMeasurements, CheckStatus } from '../../../../server/insights/overview.js'
import type { QueriesReport } from '../../../../server/insights/queries.js'
import type { indexesView, tablesView } from '../../../../server/insights/views.js'
import type { Wire } from '../../../../server/live/protocol.js'

/** Wire shapes of the database insights API (server/insights/routes.ts). */
export type { CheckStatus }

export interface DbOverview {
  database: Wire<OverviewMeasurements> & { kind: 'postgres' | 'pglite'; schema: string }
  status: CheckStatus
  checks: Array<Wire<OverviewCheck>>
}

export type DbTable = Wire<Awaited<ReturnType<typeof tablesView>>[number]>
export type DbIndex = Wire<Awaited<ReturnType<typeof indexesView>>[number]>
export type DbQueries = Wire<QueriesReport>
export type DbBackend = Wire<Backend>

export interface DbActivity {
  longQuerySeconds: number
  total: number
  running: DbBackend[]
  longRunning: DbBackend[]
  blocked: DbBackend[]
  idleInTransaction: DbBackend[]
}

/** The report of a vacuum-analyze run (server/jobs/definitions/vacuum-analyze.ts). */
export interface TableMaintenance {
  table: string
  action: 'vacuum' | 'analyze'
  deadTuplesBefore: number
  deadTuplesAfter: number | null
  deadRatioBefore: number
  durationMs: number
  error: string | null
}

export interface IndexRepair {
  index: string
  table: string
  action: string
  reason: string
  durationMs: number
  error: string | null
}

export interface VacuumReport {
  vacuumed: TableMaintenance[]
  analyzed: TableMaintenance[]
  deadTuplesBefore: number
  deadTuplesAfter: number
  indexes?: { repaired: IndexRepair[]; building: string[]; leftovers: string[] }
}

export function isVacuumReport(report: unknown): report is VacuumReport {
  const r = report as Partial<VacuumReport> | null
  return !!r && Array.isArray(r.vacuumed) && Array.isArray(r.analyzed) && typeof r.deadTuplesBefore === 'number'
}
