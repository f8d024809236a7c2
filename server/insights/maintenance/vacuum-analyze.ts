import { sql, type Kysely } from 'kysely'
import type { Config } from '../../config.js'
import type { DatabaseHandle } from '../../infra/db/connect.js'
import type { Database } from '../../db/schema.js'
import { tableStats, type TableStats } from '../catalog.js'
import { JobFailure } from '../../jobs/attempt.js'
import { flushOwnStatistics, withMaintenanceSession, type MaintenanceSession } from './session.js'
import type { JobContext, JobDefinition } from '../../jobs/types.js'
import { repairInvalidIndexes } from './index-repair.js'
import { analyze, timed, vacuumAnalyze } from './maintenance-sql.js'
import { deadRatio, planVacuum } from './vacuum-plan.js'

export interface VacuumAnalyzeDeps {
  database: DatabaseHandle
  maintenance: Config['maintenance']
}

interface TableResult {
  table: string
  action: 'vacuum' | 'analyze'
  deadTuplesBefore: number
  deadTuplesAfter: number | null
  deadRatioBefore: number
  durationMs: number
  error: string | null
  transient: boolean
}

const PROGRESS_POLL_MS = 1_000

/**
 * vacuum-analyze: tables whose dead tuples pass the thresholds get VACUUM (ANALYZE), tables
 * with stale statistics get ANALYZE. With `params.repairInvalidIndexes` (the dashboard's
 * "optimize" button) it also rebuilds invalid indexes.
 */
export function vacuumAnalyzeJob(deps: VacuumAnalyzeDeps): JobDefinition {
  const { database, maintenance } = deps
  const schema = database.schema
  return {
    name: 'vacuum-analyze',
    description: 'VACUUM (ANALYZE) tables with many dead tuples, ANALYZE tables with stale statistics',
    schedule: '0 15 * * * *',
    timeoutMs: 30 * 60_000,
    catchUp: 'once',
    run: (ctx, signal) =>
      withMaintenanceSession(database, maintenance, signal, async (session) => {
        await flushOwnStatistics(session.db)
        const plan = planVacuum(await tableStats(session.db, schema), maintenance.vacuum)
        const tables: TableResult[] = []
        for (const [action, list] of [
          ['vacuum', plan.vacuum],
          ['analyze', plan.analyze],
        ] as const) {
          for (const table of list) {
            signal.throwIfAborted()
            ctx.progress({
              step: action,
              table: table.name,
              done: tables.length,
              total: plan.vacuum.length + plan.analyze.length,
            })
            tables.push(await maintainTable(database, session, schema, table, action, ctx))
          }
        }
        const after = new Map((await tableStats(session.db, schema)).map((t) => [t.name, t]))
        for (const result of tables) result.deadTuplesAfter = after.get(result.table)?.deadTuples ?? null
        const report = {
          vacuumed: tables.filter((t) => t.action === 'vacuum'),
          analyzed: tables.filter((t) => t.action === 'analyze'),
          deadTuplesBefore: sum(tables.map((t) => t.deadTuplesBefore)),
          deadTuplesAfter: sum(tables.map((t) => t.deadTuplesAfter ?? t.deadTuplesBefore)),
          ...(ctx.params.repairInvalidIndexes
            ? { indexes: await repairInvalidIndexes(session, schema, signal, ctx.progress) }
            : {}),
        }
        const failed = [
          ...tables.filter((t) => t.error).map((t) => ({ name: t.table, transient: t.transient })),
          ...(report.indexes?.repaired.filter((r) => r.error).map((r) => ({ name: r.index, transient: r.transient })) ??
            []),
        ]
        if (failed.length)
          throw new JobFailure(
            `maintenance failed on ${failed.map((f) => f.name).join(', ')}`,
            report,
            failed.some((f) => f.transient),
          )
        return report
      }),
  }
}

async function maintainTable(
  database: DatabaseHandle,
  session: MaintenanceSession,
  schema: string,
  table: TableStats,
  action: 'vacuum' | 'analyze',
  ctx: JobContext,
): Promise<TableResult> {
  const statement = action === 'vacuum' ? vacuumAnalyze(schema, table.name) : analyze(schema, table.name)
  // PGlite runs the statement on the only connection: nobody can look at it meanwhile.
  const stopWatching =
    action === 'vacuum' && session.observable
      ? watchVacuumProgress(database.db, session.pid, table.name, ctx)
      : () => undefined
  const result = await timed(session.db, statement).finally(stopWatching)
  if (result.error) ctx.log.warn({ table: table.name, action, error: result.error }, 'table maintenance failed')
  return {
    table: table.name,
    action,
    deadTuplesBefore: table.deadTuples,
    deadTuplesAfter: null,
    deadRatioBefore: round(deadRatio(table)),
    ...result,
  }
}

/** Polls pg_stat_progress_vacuum from another connection while the session vacuums. */
function watchVacuumProgress(db: Kysely<Database>, pid: number, table: string, ctx: JobContext): () => void {
  const timer = setInterval(() => {
    sql<{
      phase: string
      heap_blks_total: string
      heap_blks_scanned: string
      heap_blks_vacuumed: string
      index_vacuum_count: string
    }>`
      select phase, heap_blks_total, heap_blks_scanned, heap_blks_vacuumed, index_vacuum_count
        from pg_stat_progress_vacuum where pid = ${pid}`
      .execute(db)
      .then(({ rows }) => {
        const row = rows[0]
        if (!row) return
        ctx.progress({
          step: 'vacuum',
          table,
          phase: row.phase,
          heapBlocksTotal: Number(row.heap_blks_total),
          heapBlocksScanned: Number(row.heap_blks_scanned),
          heapBlocksVacuumed: Number(row.heap_blks_vacuumed),
          indexVacuumCount: Number(row.index_vacuum_count),
        })
      })
      .catch((err: unknown) => ctx.log.debug({ err }, 'could not read vacuum progress'))
  }, PROGRESS_POLL_MS)
  timer.unref()
  return () => clearInterval(timer)
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)
const round = (n: number) => Math.round(n * 10_000) / 10_000
