import type { FastifyBaseLogger } from 'fastify'
import type { LogEvent } from 'kysely'
import type pg from 'pg'
import type { Metrics } from './definitions.js'
import { queryLabels } from './query-labels.js'

export interface PoolStats {
  total: number
  idle: number
  waiting: number
}

/**
 * A Kysely query listener: times every query into database_query_duration_seconds (failed
 * ones too: they held a connection just as long) and logs the slow ones at warn with their
 * type, table and duration. Never the SQL text or parameters: raw SQL may embed values.
 */
export function queryTimer(metrics: Metrics, log: FastifyBaseLogger, slowQueryMs: number): (event: LogEvent) => void {
  return (event) => {
    const labels = queryLabels(event.query.query)
    const durationMs = event.queryDurationMillis
    metrics.databaseQueryDuration.observe(labels, durationMs / 1000)
    if (durationMs > slowQueryMs) {
      log.warn(
        {
          queryType: labels.query_type,
          table: labels.table,
          durationMs: Math.round(durationMs * 10) / 10,
          failed: event.level === 'error',
        },
        'slow database query',
      )
    }
  }
}

/** Reads the pool's counts into db_pool_connections{state} (at each scrape and each tick). */
export function observePool(metrics: Metrics, pool: pg.Pool): PoolStats {
  const stats = { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }
  metrics.dbPoolConnections.set({ state: 'total' }, stats.total)
  metrics.dbPoolConnections.set({ state: 'idle' }, stats.idle)
  metrics.dbPoolConnections.set({ state: 'waiting' }, stats.waiting)
  return stats
}
