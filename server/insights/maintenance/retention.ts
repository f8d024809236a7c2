import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Config } from '../../config.js'
import type { DatabaseHandle } from '../../infra/db/connect.js'
import type { Database } from '../../db/schema.js'
import { tableColumns } from '../catalog.js'
import { JobFailure } from '../../jobs/attempt.js'
import { withMaintenanceSession } from './session.js'
import type { JobDefinition } from '../../jobs/types.js'

export interface RetentionRule {
  table: string
  /** Rows whose timestamp in this column is older than the cutoff go. The first column present is used. */
  columns: string[]
  days: number
  /** Extra condition on the rows (for example: only delivered notifications). */
  only?: { column: string; in: string[] }
}

export function retentionRules(days: Config['maintenance']['retentionDays']): RetentionRule[] {
  return [
    { table: 'analytics_events', columns: ['created_at'], days: days.analyticsEvents },
    // A run still going is never history, however old its start.
    {
      table: 'job_runs',
      columns: ['started_at'],
      days: days.jobRuns,
      only: { column: 'status', in: ['success', 'failed', 'timeout', 'skipped'] },
    },
    // The alerts feature owns these tables; until it creates them they are skipped.
    { table: 'alert_events', columns: ['at'], days: days.alertEvents },
    {
      table: 'notification_outbox',
      columns: ['delivered_at'],
      days: days.deliveredOutbox,
      only: { column: 'status', in: ['delivered'] },
    },
    // Expired sign-ins: already refused when presented, deleted once past their expiry.
    { table: 'dashboard_sessions', columns: ['expires_at'], days: 0 },
    // Idempotency keys are honoured for 24 hours; past that they are forgotten.
    { table: 'idempotency_keys', columns: ['expires_at'], days: 0 },
  ]
}

export interface RetentionDeps {
  database: DatabaseHandle
  maintenance: Config['maintenance']
  rules?: RetentionRule[]
}

/**
 * retention: deletes old history in batches of RETENTION_BATCH_SIZE rows, each its own short
 * statement, so that no delete holds locks (or bloats a transaction) for long.
 */
export function retentionJob(deps: RetentionDeps): JobDefinition {
  const { database, maintenance } = deps
  const schema = database.schema
  const rules = deps.rules ?? retentionRules(maintenance.retentionDays)
  return {
    name: 'retention',
    description:
      'Delete old analytics events, job runs, alert history, delivered notifications and expired dashboard sessions and idempotency keys, in batches',
    schedule: '0 30 3 * * *',
    timeoutMs: 30 * 60_000,
    catchUp: 'once',
    run: (ctx, signal) =>
      withMaintenanceSession(database, maintenance, signal, async (session) => {
        const tables = await tableColumns(session.db, schema)
        const deleted: Record<string, number> = {}
        const skipped: Array<{ table: string; reason: string }> = []
        for (const rule of rules) {
          const columns = tables.get(rule.table)
          const column = rule.columns.find((c) => columns?.has(c))
          if (!columns || !column || (rule.only && !columns.has(rule.only.column))) {
            skipped.push({ table: rule.table, reason: columns ? 'expected columns missing' : 'table does not exist' })
            continue
          }
          const cutoff = new Date(ctx.now.getTime() - rule.days * 86_400_000)
          const statement = deleteBatch(schema, rule, column, cutoff, maintenance.retentionBatchSize)
          deleted[rule.table] ??= 0
          for (;;) {
            signal.throwIfAborted()
            const removed = await executeDelete(session.db, statement).catch((err: unknown) => {
              throw new JobFailure(
                `retention failed on ${rule.table}: ${err instanceof Error ? err.message : String(err)}`,
                { deleted, skipped },
              )
            })
            deleted[rule.table]! += removed
            ctx.progress({ table: rule.table, deleted })
            if (removed < maintenance.retentionBatchSize) break
          }
        }
        return { deleted, skipped, batchSize: maintenance.retentionBatchSize }
      }),
  }
}

/** One batch: the oldest matching rows by physical address, at most `limit` of them. */
function deleteBatch(
  schema: string,
  rule: RetentionRule,
  column: string,
  cutoff: Date,
  limit: number,
): RawBuilder<unknown> {
  const table = sql.id(schema, rule.table)
  const extra = rule.only ? sql`and ${sql.id(rule.only.column)} in (${sql.join(rule.only.in)})` : sql``
  return sql`delete from ${table} where ctid = any(array(
    select ctid from ${table} where ${sql.id(column)} < ${cutoff} ${extra} limit ${limit}))`
}

async function executeDelete(db: Kysely<Database>, statement: RawBuilder<unknown>): Promise<number> {
  const result = await statement.execute(db)
  return Number(result.numAffectedRows ?? 0)
}
