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
  constructor(config?: string | pg.ClientConfig) {
    super(config)
    this.on('error', () => {})
  }
}

// bigint (int8) and numeric come back as strings by default; counts are safe as numbers
// only below 2^53, so we keep ids as strings and convert counts explicitly where read.
export async function connectDatabase(config: Config, options: ConnectOptions): Promise<DatabaseHandle> {
  const { schema } = config.database
  let pool: pg.Pool
  let pglite: PGlite | undefined
  if (config.database.url) {
    pool = new pg.Pool({
      Client: ResilientClient,
      connectionString: config.database.url,
      max: config.database.poolSize,
      connectionTimeoutMillis: config.database.connectTimeoutMs,
      statement_timeout: config.database.statementTimeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: applicationName(config.instanceId),
      ...(schema === 'public' ? {} : { options: `-c search_path=${schema}` }),
    })
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
  const { error, results } = await migrator.migrateToLatest()
  for (const result of results ?? []) {
    if (result.status === 'Success') log.info({ migration: result.migrationName }, 'migration applied')
    else if (result.status === 'Error') log.error({ migration: result.migrationName }, 'migration failed')
  }
  if (error) throw error instanceof Error ? error : new Error(String(error))
}
