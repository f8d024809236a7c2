import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import pg from 'pg'
import { buildApp } from '../../server/app.js'
import { loadConfig, type Config } from '../../server/config.js'
import { generateToken } from '../../server/auth/token-repository.js'

/**
 * The backends a test runs against: embedded (PGlite + in-memory cache) always, and real
 * Postgres + Redis when DATABASE_URL / REDIS_URL are set. Use with describe.each(backends).
 */
export interface Backend {
  name: string
  databaseUrl: string | undefined
  redisUrl: string | undefined
}

export const embedded: Backend = { name: 'embedded', databaseUrl: undefined, redisUrl: undefined }
export const real: Backend | null =
  process.env.DATABASE_URL || process.env.REDIS_URL
    ? { name: 'postgres+redis', databaseUrl: process.env.DATABASE_URL, redisUrl: process.env.REDIS_URL }
    : null
export const backends: Backend[] = real ? [embedded, real] : [embedded]

export function uniqueName(prefix = 't'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
}

export interface TestApp {
  app: FastifyInstance
  config: Config
  /** An admin token, valid for this app. */
  adminToken: string
  /** Bearer header for the admin token (or another token). */
  auth(token?: string): { authorization: string }
  /** Log lines the app wrote (JSON objects), when `captureLogs` was set. */
  logs: Array<Record<string, unknown>>
  close(): Promise<void>
}

export interface TestAppOptions {
  /** Extra environment variables (strings, as in the real environment). */
  env?: Record<string, string>
  captureLogs?: boolean
  /** Reuse an existing schema / prefix / data dir (restarts, several instances on one store). */
  schema?: string
  cachePrefix?: string
  dataDir?: string
  /** Keep the schema and Redis keys on close (for a restart test that builds a second app). */
  keepData?: boolean
  /** Start without an ADMIN_TOKEN (bootstrap tests). */
  withoutAdminToken?: boolean
}

/**
 * Builds the real app on a backend with its own Postgres schema (or in-memory PGlite, or a
 * PGlite dir) and its own Redis key prefix, so test files never see each other's data.
 */
export async function createTestApp(backend: Backend, options: TestAppOptions = {}): Promise<TestApp> {
  const schema = options.schema ?? uniqueName('test')
  const cachePrefix = options.cachePrefix ?? `ccp-test:${uniqueName('p')}:`
  // Instances of one fleet share ADMIN_TOKEN (a different one would rotate the others' out).
  const adminToken = options.withoutAdminToken ? '' : (options.env?.ADMIN_TOKEN ?? generateToken())
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'ccp-test-'))
  const env: Record<string, string> = {
    LOG_LEVEL: options.captureLogs ? 'info' : 'silent',
    DATA_DIR: dataDir,
    DATABASE_SCHEMA: backend.databaseUrl ? schema : 'public',
    CACHE_PREFIX: cachePrefix,
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...(adminToken ? { ADMIN_TOKEN: adminToken } : {}),
    ...(backend.databaseUrl ? { DATABASE_URL: backend.databaseUrl } : {}),
    ...(backend.redisUrl ? { REDIS_URL: backend.redisUrl } : {}),
    ...options.env,
  }
  const config = loadConfig(env)
  const logs: Array<Record<string, unknown>> = []
  const logStream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line))
      done()
    },
  })
  // Without a database URL, PGlite lives in memory unless the test asked for a data dir it keeps.
  const pgliteDataDir = backend.databaseUrl ? undefined : options.dataDir ? undefined : 'memory://'
  const app = await buildApp(config, { pgliteDataDir, logStream })
  return {
    app,
    config,
    adminToken,
    logs,
    auth: (token = adminToken) => ({ authorization: `Bearer ${token}` }),
    async close() {
      await app.close()
      if (options.keepData) return
      await dropTestData(backend, { schema: backend.databaseUrl ? schema : undefined, cachePrefix })
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** Drops a test's Postgres schema and deletes its Redis keys. */
export async function dropTestData(backend: Backend, what: { schema?: string; cachePrefix?: string }): Promise<void> {
  if (backend.databaseUrl && what.schema && what.schema !== 'public') {
    const client = new pg.Client({ connectionString: backend.databaseUrl })
    await client.connect()
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${what.schema}" CASCADE`)
    } finally {
      await client.end()
    }
  }
  if (backend.redisUrl && what.cachePrefix) {
    const redis = new Redis(backend.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
    await redis.connect()
    try {
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${what.cachePrefix}*`, 'COUNT', 500)
        cursor = next
        if (keys.length) await redis.unlink(...keys)
      } while (cursor !== '0')
    } finally {
      redis.disconnect()
    }
  }
}
