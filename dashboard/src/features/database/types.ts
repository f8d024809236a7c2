import type { VacuumReport } from '../../../../server/contract/index.js'

/** Wire shapes of the database insights API: declared in server/contract/database.ts. */
export type {
  CheckStatus,
  DbActivity,
  DbBackend,
  DbIndex,
  DbOverview,
  DbQueries,
  DbTable,
  IndexRepair,
  TableMaintenance,
  VacuumReport,
} from '../../../../server/contract/index.js'

export function isVacuumReport(report: unknown): report is VacuumReport {
  const r = report as Partial<VacuumReport> | null
  return !!r && Array.isArray(r.vacuumed) && Array.isArray(r.analyzed) && typeof r.deadTuplesBefore === 'number'
}
