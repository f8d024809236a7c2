import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { num } from './catalog.js'

export type CheckStatus = 'ok' | 'warn' | 'critical'

export interface OverviewCheck {
  name: 'connections' | 'cache_hit_rate' | 'wraparound' | 'long_running_queries' | 'idle_in_transaction'
  status: CheckStatus
  value: number | null
  message: string
}

export interface OverviewMeasurements {
  databaseBytes: number
  schemaBytes: number
  connections: number
  maxConnections: number
  /** Buffer hits / all reads on our tables and indexes; null before any read. */
  cacheHitRate: number | null
  /** age(datfrozenxid) of our database: transactions since everything was frozen. */
  transactionIdAge: number
  longRunning: number
  idleInTransaction: number
}

export async function measureOverview(
  db: Kysely<Database>,
  schema: string,
  longQuerySeconds: number,
): Promise<OverviewMeasurements> {
  const { rows } = await sql<Record<string, string | number | null>>`
    select pg_database_size(current_database()) as database_bytes,
           (select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = ${schema} and c.relkind in ('r', 'm', 'p')) as schema_bytes,
           (select count(*) from pg_stat_activity where backend_type in ('client backend', 'standalone backend')) as connections,
           current_setting('max_connections')::int as max_connections,
           (select coalesce(sum(heap_blks_hit), 0) + coalesce(sum(idx_blks_hit), 0) + coalesce(sum(toast_blks_hit), 0) from pg_statio_user_tables where schemaname = ${schema}) as hits,
           (select coalesce(sum(heap_blks_read), 0) + coalesce(sum(idx_blks_read), 0) + coalesce(sum(toast_blks_read), 0) from pg_statio_user_tables where schemaname = ${schema}) as reads,
           (select age(datfrozenxid) from pg_database where datname = current_database()) as xid_age,
           (select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state = 'active'
               and now() - query_start > make_interval(secs => ${longQuerySeconds})) as long_running,
           (select count(*) from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'
               and now() - state_change > make_interval(secs => ${longQuerySeconds})) as idle_in_transaction`.execute(
    db,
  )
  const r = rows[0]!
  const hits = num(r.hits)
  const reads = num(r.reads)
  return {
    databaseBytes: num(r.database_bytes),
    schemaBytes: num(r.schema_bytes),
    connections: num(r.connections),
    maxConnections: num(r.max_connections),
    cacheHitRate: hits + reads === 0 ? null : hits / (hits + reads),
    transactionIdAge: num(r.xid_age),
    longRunning: num(r.long_running),
    idleInTransaction: num(r.idle_in_transaction),
  }
}

const WRAPAROUND_LIMIT = 2 ** 31

/** Turns measurements into ok/warn/critical checks; thresholds follow common Postgres practice (and pgHero's). */
export function evaluateOverview(m: OverviewMeasurements, longQuerySeconds: number): OverviewCheck[] {
  const connectionRatio = m.maxConnections > 0 ? m.connections / m.maxConnections : 0
  const wraparoundRatio = m.transactionIdAge / WRAPAROUND_LIMIT
  return [
    {
      name: 'connections',
      status: connectionRatio >= 0.95 ? 'critical' : connectionRatio >= 0.8 ? 'warn' : 'ok',
      value: m.connections,
      message: `${m.connections} of ${m.maxConnections} connections in use (${Math.round(connectionRatio * 100)}%)`,
    },
    {
      name: 'cache_hit_rate',
      status: m.cacheHitRate === null || m.cacheHitRate >= 0.99 ? 'ok' : m.cacheHitRate >= 0.9 ? 'warn' : 'critical',
      value: m.cacheHitRate,
      message:
        m.cacheHitRate === null
          ? 'No reads yet'
          : `${(m.cacheHitRate * 100).toFixed(2)}% of reads served from shared buffers${m.cacheHitRate < 0.99 ? ': the working set may not fit in memory' : ''}`,
    },
    {
      name: 'wraparound',
      status: wraparoundRatio >= 0.75 ? 'critical' : wraparoundRatio >= 0.5 ? 'warn' : 'ok',
      value: m.transactionIdAge,
      message: `Oldest unfrozen transaction ID is ${m.transactionIdAge.toLocaleString('en-US')} transactions old (${(wraparoundRatio * 100).toFixed(1)}% of the way to wraparound)`,
    },
    {
      name: 'long_running_queries',
      status: m.longRunning >= 5 ? 'critical' : m.longRunning >= 1 ? 'warn' : 'ok',
      value: m.longRunning,
      message: `${m.longRunning} queries running for more than ${longQuerySeconds} s`,
    },
    {
      name: 'idle_in_transaction',
      status: m.idleInTransaction >= 5 ? 'critical' : m.idleInTransaction >= 1 ? 'warn' : 'ok',
      value: m.idleInTransaction,
      message: `${m.idleInTransaction} sessions idle in a transaction for more than ${longQuerySeconds} s (they hold locks and stop VACUUM)`,
    },
  ]
}
