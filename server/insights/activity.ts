import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { AppError, forbidden, notFound } from '../errors.js'

export interface Backend {
  pid: number
  user: string | null
  application: string | null
  clientAddress: string | null
  backendType: string | null
  state: string | null
  waitEventType: string | null
  waitEvent: string | null
  query: string | null
  /** Why `query` is null although there is one (see the contract's BackendView). */
  queryHidden: 'other_role' | 'no_privilege' | null
  /** Logged in as the role this service connects as. */
  ownRole: boolean
  queryStart: Date | null
  transactionStart: Date | null
  /** Seconds since the current query (or, when idle in a transaction, the last state change) began. */
  durationSeconds: number | null
  /** Pids holding the locks this backend waits for. */
  blockedBy: number[]
}

const QUERY_TEXT_LIMIT = 2_000

/** Every other session on our database, with what it runs and what blocks it. */
export async function listActivity(db: Kysely<Database>): Promise<Backend[]> {
  const { rows } = await sql<Record<string, unknown>>`
    select pid, usename as "user", usename = current_user as own_role, application_name as application, client_addr::text as client_address, backend_type,
           state, wait_event_type, wait_event, left(query, ${QUERY_TEXT_LIMIT}) as query, query_start, xact_start,
           extract(epoch from now() - case when state = 'active' then query_start else state_change end)::float8 as duration_seconds,
           pg_blocking_pids(pid) as blocked_by
      from pg_stat_activity
     where datname = current_database() and pid <> pg_backend_pid()
     order by query_start nulls last`.execute(db)
  return rows.map((r) => {
    const query = (r.query as string | null) ?? null
    // What Postgres shows instead of another role's statement when we may not read it.
    const unreadable = query === '<insufficient privilege>'
    return {
      pid: Number(r.pid),
      user: (r.user as string | null) ?? null,
      application: (r.application as string | null) || null,
      clientAddress: (r.client_address as string | null) ?? null,
      backendType: (r.backend_type as string | null) ?? null,
      state: (r.state as string | null) ?? null,
      waitEventType: (r.wait_event_type as string | null) ?? null,
      waitEvent: (r.wait_event as string | null) ?? null,
      query: unreadable ? null : query,
      queryHidden: unreadable ? 'no_privilege' : null,
      ownRole: r.own_role === true,
      queryStart: (r.query_start as Date | null) ?? null,
      transactionStart: (r.xact_start as Date | null) ?? null,
      durationSeconds: r.duration_seconds === null ? null : Number(r.duration_seconds),
      blockedBy: parsePids(r.blocked_by),
    }
  })
}

/**
 * What a viewer sees of the sessions: the statements of the service's own database role, not
 * those of other roles (another application's or a person's queries, which can carry data).
 * Admins see everything.
 */
export function hideOtherRolesQueries(backends: Backend[]): Backend[] {
  return backends.map((b) =>
    b.ownRole || b.query === null ? b : { ...b, query: null, queryHidden: 'other_role' as const },
  )
}

export interface ActivityView {
  running: Backend[]
  longRunning: Backend[]
  blocked: Backend[]
  idleInTransaction: Backend[]
  total: number
}

export function classifyActivity(backends: Backend[], longQuerySeconds: number): ActivityView {
  const running = backends.filter((b) => b.state === 'active')
  return {
    running,
    longRunning: running.filter((b) => (b.durationSeconds ?? 0) > longQuerySeconds),
    blocked: backends.filter((b) => b.blockedBy.length > 0),
    idleInTransaction: backends.filter((b) => b.state?.startsWith('idle in transaction')),
    total: backends.length,
  }
}

/**
 * Cancels the query a backend runs (pg_cancel_backend: the session survives). Only backends
 * that are ours to cancel: a client session on our database, logged in as our role, and not
 * the connection asking.
 */
export async function cancelBackend(
  db: Kysely<Database>,
  pid: number,
): Promise<{ pid: number; cancelled: boolean; query: string | null }> {
  const { rows } = await sql<{
    datname: string | null
    ours: boolean
    own_database: boolean
    self: boolean
    backend_type: string | null
    query: string | null
  }>`
    select datname, usename = current_user as ours, datname = current_database() as own_database, pid = pg_backend_pid() as self,
           backend_type, left(query, 200) as query
      from pg_stat_activity where pid = ${pid}`.execute(db)
  const backend = rows[0]
  if (!backend) throw notFound(`Database backend with pid ${pid}`)
  if (!backend.own_database) throw forbidden(`Backend ${pid} is not connected to this service's database`)
  if (backend.self) throw new AppError(409, 'own_connection', `Backend ${pid} is the connection serving this request`)
  if (backend.backend_type !== 'client backend')
    throw forbidden(`Backend ${pid} is a ${backend.backend_type ?? 'server'} process, not a client session`)
  if (!backend.ours) throw forbidden(`Backend ${pid} belongs to another database role`)
  const result = await sql<{ cancelled: boolean }>`select pg_cancel_backend(${pid}) as cancelled`.execute(db)
  return { pid, cancelled: Boolean(result.rows[0]?.cancelled), query: backend.query }
}

function parsePids(value: unknown): number[] {
  if (Array.isArray(value)) return value.map(Number)
  return String(value ?? '')
    .replace(/[{}]/g, '')
    .split(',')
    .filter(Boolean)
    .map(Number)
}
