import { sql, type Kysely } from 'kysely'
import type { Redis } from 'ioredis'
import type { Database } from '../db/schema.js'

export interface ComponentHealth {
  component: string
  up: boolean
  latencyMs: number | null
  error?: string
}

export type HealthCheck = (signal: AbortSignal) => Promise<void>

const CHECK_TIMEOUT_MS = 2_000

/** Runs one check with a deadline; a check that hangs counts as down. */
export async function runCheck(
  component: string,
  check: HealthCheck,
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<ComponentHealth> {
  const started = performance.now()
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      check(controller.signal),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort()
          reject(new Error(`no answer within ${timeoutMs} ms`))
        }, timeoutMs)
      }),
    ])
    return { component, up: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 }
  } catch (err) {
    return { component, up: false, latencyMs: null, error: err instanceof Error ? err.message : String(err) }
  } finally {
    clearTimeout(timer)
  }
}

export const databaseCheck =
  (db: Kysely<Database>): HealthCheck =>
  async () => {
    await sql`select 1`.execute(db)
  }

export const redisCheck =
  (redis: Redis): HealthCheck =>
  async () => {
    if (redis.status !== 'ready') throw new Error(`redis connection is ${redis.status}`)
    await redis.ping()
  }
