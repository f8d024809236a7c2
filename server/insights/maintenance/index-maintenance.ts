import type { Config } from '../../config.js'
import type { DatabaseHandle } from '../../infra/db/connect.js'
import { indexStats, tableColumns } from '../catalog.js'
import { estimateBtreeBloat, findDuplicateIndexes, isUnused } from '../index-findings.js'
import { JobFailure } from '../../jobs/attempt.js'
import { withMaintenanceSession } from './session.js'
import type { JobDefinition } from '../../jobs/types.js'
import { reindex, repairInvalidIndexes, type IndexAction } from './index-repair.js'
import { createIndexConcurrently, timed } from './maintenance-sql.js'
import { REQUIRED_INDEXES, type RequiredIndex } from './required-indexes.js'

export interface IndexMaintenanceDeps {
  database: DatabaseHandle
  maintenance: Config['maintenance']
  required?: RequiredIndex[]
}

/**
 * index-maintenance: rebuilds invalid and bloated indexes and recreates missing required
 * ones, all CONCURRENTLY (writes go on meanwhile). Unused and duplicate indexes are reported,
 * never dropped: that is a decision for a person.
 */
export function indexMaintenanceJob(deps: IndexMaintenanceDeps): JobDefinition {
  const { database, maintenance } = deps
  const schema = database.schema
  const required = deps.required ?? REQUIRED_INDEXES
  return {
    name: 'index-maintenance',
    description:
      'REINDEX CONCURRENTLY invalid and bloated indexes, recreate missing ones, report unused and duplicates',
    schedule: '0 0 3 * * *',
    timeoutMs: 60 * 60_000,
    catchUp: 'once',
    run: (ctx, signal) =>
      withMaintenanceSession(database, maintenance, signal, async (session) => {
        const indexes = await indexStats(session.db, schema)
        const invalid = await repairInvalidIndexes(session, schema, signal, ctx.progress, indexes)

        const existing = new Set(indexes.map((i) => i.name))
        const tables = await tableColumns(session.db, schema)
        const created: IndexAction[] = []
        for (const index of required) {
          const columns = tables.get(index.table)
          if (existing.has(index.name) || !columns || !index.columns.every((c) => columns.has(c.column))) continue
          signal.throwIfAborted()
          ctx.progress({ step: 'create', index: index.name })
          const result = await timed(
            session.db,
            createIndexConcurrently(schema, index.name, index.table, index.columns),
          )
          created.push({ index: index.name, table: index.table, action: 'create', reason: 'missing', ...result })
        }

        const { bloatRatio, bloatMinBytes, unusedMinBytes } = maintenance.indexes
        const bloated: IndexAction[] = []
        for (const index of indexes.filter((i) => i.valid)) {
          const bloat = estimateBtreeBloat(index)
          if (!bloat || bloat.ratio < bloatRatio || bloat.bloatBytes < bloatMinBytes) continue
          signal.throwIfAborted()
          ctx.progress({ step: 'reindex', index: index.name, reason: 'bloated' })
          bloated.push({
            ...(await reindex(
              session,
              schema,
              index,
              `bloated: ~${Math.round(bloat.ratio * 100)}% (${bloat.bloatBytes} bytes)`,
            )),
          })
        }

        // Judge unused and duplicates on the indexes as they are now, new ones included.
        const current = created.length ? await indexStats(session.db, schema) : indexes
        const duplicates = findDuplicateIndexes(current)
        const report = {
          invalid,
          created,
          bloated,
          unused: current
            .filter((i) => isUnused(i, unusedMinBytes))
            .map((i) => ({ index: i.name, table: i.table, sizeBytes: i.sizeBytes })),
          duplicates: [...duplicates].map(([index, coveredBy]) => ({ index, coveredBy })),
        }
        const failed = [...invalid.repaired, ...created, ...bloated].filter((a) => a.error)
        if (failed.length)
          throw new JobFailure(
            `index maintenance failed on ${failed.map((f) => f.index).join(', ')}`,
            report,
            failed.some((f) => f.transient),
          )
        return report
      }),
  }
}
