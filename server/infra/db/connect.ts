import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import { Kysely, Migrator, PostgresDialect, sql, type LogEvent } from 'kysely'
import pg from 'pg'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'
import { migrations } from '../../db/migrations/index.js'
import type { Database } from '../../db/schema.js'

export type DatabaseKind = 'postgres' | 'pglite'

const APPLICATION_PREFIX = 'chat-control-plane/'
/** What each instance's connections call themselves in pg_stat_activity (Postgres keeps 63 bytes). */
const applicationName = (instanceId: string) => `${APPLICATION_PREFIX}${instanceId}`.slice(0, 63)

/**
 * Ids of the other instances with a connection open to this database, read from
 * pg_stat_activity by the application name each sets; [] when that view cannot be read.
 */
export async function otherInstancesOnDatabase(db: Kysely<Database>, instanceId: string): Promise<string[]> {
  const ours = applicationName(instanceId)
  return sql<{ application_name: string }>`
    select distinct application_name from pg_stat_activity
    where datname = current_database() and application_name like ${APPLICATION_PREFIX + '%'} and application_name <> ${ours}`
    .execute(db)
    .then(
      (r) => r.rows.map((row) => row.application_name.slice(APPLICATION_PREFIX.length)),
      () => [],
    )
}

export interface DatabaseHandle {
  kind: DatabaseKind
  db: Kysely<Database>
  pool: pg.Pool
  schema: string
  /** The embedded engine, when kind is 'pglite'. */
  pglite: PGlite | undefined
  /** Called for every query Kysely runs (metrics and slow-query logging add theirs). */
  queryListeners: Set<(event: LogEvent) => void>
  /**
   * Tells the client that the session of backend `pid` now allows statements of `ms` (null:
   * back to the pool's), so that its read timeout (statement timeout + QUERY_READ_MARGIN_MS)
   * does not give up on them. The session's own statement_timeout is set with SQL, as before.
   */
  setStatementTimeout(pid: number, ms: number | null): void
  close(): Promise<void>
}

export interface ConnectOptions {
  log: FastifyBaseLogger
  /** Override where PGlite keeps its files; 'memory://' for tests. Default DATA_DIR/pglite. */
  pgliteDataDir?: string
}

/**
 * pg emits 'error' on a client whose socket drops; while the client sits between checkout
 * and release nobody listens, and the unhandled event would crash the process whenever
 * Postgres restarts. Queries still receive their own errors and the pool still evicts the
 * client; this listener only keeps the process alive.
 */
class ResilientClient extends pg.Client {
  private readonly readTimeouts: ReadTimeouts | undefined
  private readonly defaultReadTimeout: number | undefined

  constructor(config?: string | (pg.ClientConfig & { readTimeouts?: ReadTimeouts })) {
    super(config)
    this.on('error', () => {})
    if (typeof config === 'object') {
      this.readTimeouts = config.readTimeouts
      this.defaultReadTimeout = config.query_timeout
    }
  }

  /**
   * Applies this connection's read timeout (a maintenance session allows longer statements),
   * and ends the connection when a query that was sent hit it: pg cannot take the query back,
   * and every later query on this client would queue behind it. Ended, the client is discarded
   * by the pool when it is released.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- pg.Client#query's many overloads, passed through
  override query(...args: any[]): any {
    const self = this as unknown as PgClientInternals
    if (this.readTimeouts && self.processID !== null) {
      self.connectionParameters.query_timeout = this.readTimeouts.get(self.processID) ?? this.defaultReadTimeout
    }
    const result = (super.query as (...a: unknown[]) => unknown).apply(this, args)
    if (result instanceof Promise) {
      result.catch((err: unknown) => {
        if (err instanceof Error && err.message === QUERY_READ_TIMEOUT) self.connection?.stream?.destroy()
      })
    }
    return result
  }
}

/** Read timeouts that differ from the pool's, by backend pid. */
type ReadTimeouts = Map<number, number>

/** What ResilientClient touches of pg.Client beyond its typings (stable across pg 8). */
interface PgClientInternals {
  processID: number | null
  connectionParameters: { query_timeout?: number }
  connection?: { stream?: { destroy(): void } }
}

/** The message of pg's client-side `query_timeout`. */
const QUERY_READ_TIMEOUT = 'Query read timeout'
/**
 * How long past its statement_timeout a query may go unanswered before the client gives up on
 * the connection: the server cancels a slow statement itself, so silence beyond that means the
 * network or the server is gone (a cut link sends no FIN; without this a request would wait
 * for ever).
 */
export const QUERY_READ_MARGIN_MS = 1_000

// bigint (int8) and numeric come back as strings by default; counts are safe as numbers
// only below 2^53, so we keep ids as strings and convert counts explicitly where read.
export async function connectDatabase(config: Config, options: ConnectOptions): Promise<DatabaseHandle> {
  const { schema } = config.database
  let pool: pg.Pool
  let pglite: PGlite | undefined
  const readTimeouts: ReadTimeouts = new Map()
  if (config.database.url) {
    const poolConfig: pg.PoolConfig & { readTimeouts: ReadTimeouts } = {
      Client: ResilientClient,
      readTimeouts,
      connectionString: config.database.url,
      max: config.database.poolSize,
      connectionTimeoutMillis: config.database.connectTimeoutMs,
      statement_timeout: config.database.statementTimeoutMs,
      query_timeout: config.database.statementTimeoutMs + QUERY_READ_MARGIN_MS,
      idleTimeoutMillis: 30_000,
      application_name: applicationName(config.instanceId),
      ...(schema === 'public' ? {} : { options: `-c search_path=${schema}` }),
    }
    pool = new pg.Pool(poolConfig)
  } else {
    const dataDir = options.pgliteDataDir ?? join(config.dataDir, 'pglite')
    if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true })
    // Loaded only here: with DATABASE_URL set the embedded engine's code is never read.
    const [{ PGlite }, { pg_stat_statements }, { createPgConfig }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('@electric-sql/pglite/contrib/pg_stat_statements'),
      import('@electric-sql/pglite/node-postgres'),
    ])
    pglite = await PGlite.create({ dataDir, extensions: { pg_stat_statements } })
    await pglite.exec('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
    if (schema !== 'public')
      await pglite.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"; SET search_path TO "${schema}"`)
    pool = new pg.Pool(createPgConfig(pglite) as pg.PoolConfig)
  }
  // An idle client that errors (server restart, network cut) must not crash the process.
  pool.on('error', (err) => options.log.warn({ err }, 'idle database connection failed'))

  const queryListeners = new Set<(event: LogEvent) => void>()
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      for (const listener of queryListeners) listener(event)
    },
  })
  const handle: DatabaseHandle = {
    kind: pglite ? 'pglite' : 'postgres',
    db,
    pool,
    schema,
    pglite,
    queryListeners,
    setStatementTimeout(pid, ms) {
      if (ms === null) readTimeouts.delete(pid)
      else readTimeouts.set(pid, ms + QUERY_READ_MARGIN_MS)
    },
    async close() {
      await db.destroy() // ends the pool
      if (pglite && !pglite.closed) await pglite.close()
    },
  }
  try {
    if (config.database.url && schema !== 'public') await ensureSchema(db, schema)
    await migrateToLatest(db, schema, options.log)
  } catch (err) {
    await handle.close().catch(() => {})
    throw err
  }
  return handle
}

/**
 * CREATE SCHEMA IF NOT EXISTS is not race-free in Postgres: instances starting together on a
 * fresh database can fail on pg_namespace's unique index. Losing that race is fine.
 */
async function ensureSchema(db: Kysely<Database>, schema: string): Promise<void> {
  try {
    await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db)
  } catch (err) {
    const { rows } = await sql`select 1 from pg_namespace where nspname = ${schema}`.execute(db)
    if (rows.length === 0) throw err
  }
}

export async function migrateToLatest(db: Kysely<Database>, schema: string, log: FastifyBaseLogger): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: schema,
  })
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest()
    for (const result of results ?? []) {
      if (result.status === 'Success') log.info({ migration: result.migrationName }, 'migration applied')
      else if (result.status === 'Error') log.error({ migration: result.migrationName }, 'migration failed')
    }
    if (!error) return
    // Kysely reads the catalog (every schema's tables) to find its migration tables; a schema
    // another client drops meanwhile makes that read fail with 3F000 naming *that* schema.
    // Nothing was applied: read again.
    if (attempt < 3 && droppedMeanwhile(error, schema) && (results ?? []).length === 0) {
      log.warn({ err: error }, 'another schema was dropped while the migrator read the catalog; reading it again')
      continue
    }
    throw error instanceof Error ? error : new Error(String(error))
  }
}

function droppedMeanwhile(error: unknown, ours: string): boolean {
  const e = error as { code?: unknown; message?: unknown }
  return e.code === '3F000' && typeof e.message === 'string' && !e.message.includes(`"${ours}"`)
}
