import { AppError } from '../../errors.js'

/** Socket errors of a database connection that could not be made or was cut. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])
/** admin_shutdown, crash_shutdown, cannot_connect_now: the server is going away or not up yet. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03'])
/**
 * What pg and pg-pool throw, without a code, when a connection ends, none can be had in time,
 * or a sent query goes unanswered past query_timeout (the network or the server is gone).
 */
const PG_CONNECTION_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Query read timeout)/

/**
 * Whether `err` means the database cannot be reached right now (down, restarting, network cut,
 * pool unable to connect in time), as opposed to a failed statement. Such a failure is
 * temporary: the pool reconnects by itself once the server is back.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const { code, severity } = err as { code?: unknown; severity?: unknown }
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true
    // Only pg's DatabaseError carries a severity next to its SQLSTATE; class 08 = connection exception.
    if (typeof severity === 'string' && (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code))) return true
  }
  return PG_CONNECTION_MESSAGE.test(err.message)
}

/** The 503 + Retry-After a client gets while the database is unavailable. */
export function databaseUnavailable(): AppError {
  return new AppError(503, 'database_unavailable', 'The database is unavailable; retry shortly', { 'retry-after': '5' })
}
