import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import pg from 'pg'

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
