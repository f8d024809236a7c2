import { sql, type Kysely } from 'kysely'
import type { DatabaseHandle } from '../../infra/db/connect.js'
import type { Database } from '../../db/schema.js'

export interface MaintenanceOptions {
  lockTimeoutMs: number
  statementTimeoutMs: number
}

/** One dedicated connection for maintenance statements, and what we know of it. */
export interface MaintenanceSession {
  /** Kysely bound to the dedicated connection: statements run one by one, outside transactions. */
  db: Kysely<Database>
  /** Its backend pid (progress views and cancellation refer to it). */
  pid: number
  /** Whether another connection can watch or cancel it (not with PGlite's single session). */
  observable: boolean
}

/**
 * Runs `work` on one pooled connection with `lock_timeout` and `statement_timeout` set for
 * the session (VACUUM and the CONCURRENTLY statements refuse to run inside a transaction, so
 * SET LOCAL is not an option), and puts the settings back before the connection returns to
 * the pool. On abort, the running statement is cancelled from another connection.
 *
 * With PGlite the pool has a single connection: `work` must use `session.db` only, never the
 * app's pool, or it would wait for itself.
 */
export async function withMaintenanceSession<T>(
  database: DatabaseHandle,
  options: MaintenanceOptions,
  signal: AbortSignal,
  work: (session: MaintenanceSession) => Promise<T>,
): Promise<T> {
  signal.throwIfAborted()
  return database.db.connection().execute(async (conn) => {
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn)
    const pid = rows[0]!.pid
    await sql`select set_config('lock_timeout', ${`${options.lockTimeoutMs}ms`}, false), set_config('statement_timeout', ${`${options.statementTimeoutMs}ms`}, false)`.execute(
      conn,
    )
    database.setStatementTimeout(pid, options.statementTimeoutMs)
    const observable = database.kind === 'postgres'
    const cancel = () => {
      if (observable) void sql`select pg_cancel_backend(${pid})`.execute(database.db).catch(() => undefined)
    }
    signal.addEventListener('abort', cancel, { once: true })
    try {
      return await work({ db: conn, pid, observable })
    } finally {
      signal.removeEventListener('abort', cancel)
      database.setStatementTimeout(pid, null)
      await sql`reset lock_timeout`.execute(conn)
      await sql`reset statement_timeout`.execute(conn)
    }
  })
}

/** Lets the statistics of this session's own writes reach pg_stat_* (PGlite's single session makes every write its own). */
export async function flushOwnStatistics(db: Kysely<Database>): Promise<void> {
  // pg_stat_force_next_flush() exists from PostgreSQL 15; older servers flush on their own.
  await sql`select pg_stat_force_next_flush()`.execute(db).catch(() => undefined)
}
