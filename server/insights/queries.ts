import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { num } from './catalog.js'

export interface TopQuery {
  queryId: string
  query: string
  calls: number
  totalMs: number
  meanMs: number
  rows: number
  /** Share of all statement time in our database (0..1). */
  shareOfTotal: number
  cacheHitRate: number | null
}

export type QueriesReport =
  { available: true; queries: TopQuery[] } | { available: false; reason: string; howToEnable: string }

const HOW_TO_ENABLE =
  "Add pg_stat_statements to shared_preload_libraries in postgresql.conf (shared_preload_libraries = 'pg_stat_statements'), restart PostgreSQL, then run CREATE EXTENSION pg_stat_statements; in this database."

/** The statements that took the most total time in our database, from pg_stat_statements when it is there. */
export async function topQueries(db: Kysely<Database>, limit: number): Promise<QueriesReport> {
  const { rows: ext } = await sql<{ schema: string }>`
    select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_stat_statements'`.execute(
    db,
  )
  const schema = ext[0]?.schema
  if (!schema)
    return {
      available: false,
      reason: 'The pg_stat_statements extension is not installed in this database.',
      howToEnable: HOW_TO_ENABLE,
    }
  const view = sql.id(schema, 'pg_stat_statements')
  try {
    const { rows } = await sql<Record<string, string | number | null>>`
      with ours as (
        select * from ${view} where dbid = (select oid from pg_database where datname = current_database())
      )
      select queryid::text as query_id, query, calls, total_exec_time, mean_exec_time, rows, shared_blks_hit, shared_blks_read,
             sum(total_exec_time) over () as all_time
        from ours order by total_exec_time desc limit ${limit}`.execute(db)
    return {
      available: true,
      queries: rows.map((r) => {
        const hits = num(r.shared_blks_hit)
        const reads = num(r.shared_blks_read)
        const all = num(r.all_time)
        return {
          queryId: String(r.query_id),
          query: String(r.query ?? ''),
          calls: num(r.calls),
          totalMs: round(num(r.total_exec_time)),
          meanMs: round(num(r.mean_exec_time)),
          rows: num(r.rows),
          shareOfTotal: all > 0 ? round(num(r.total_exec_time) / all) : 0,
          cacheHitRate: hits + reads === 0 ? null : round(hits / (hits + reads)),
        }
      }),
    }
  } catch (err) {
    // Installed but not preloaded: the view exists and refuses to answer (SQLSTATE 55000).
    if ((err as { code?: string }).code === '55000') {
      return {
        available: false,
        reason: 'pg_stat_statements is installed but not loaded (it must be in shared_preload_libraries).',
        howToEnable: HOW_TO_ENABLE,
      }
    }
    throw err
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000
