import { sql, type Kysely } from 'kysely'
import type { Redis } from 'ioredis'
import type { ComponentHealth, HealthCodeValue } from '../contract/health.js'
import type { Database } from '../db/schema.js'
import { isDatabaseUnavailable } from '../infra/db/errors.js'

export type { ComponentHealth } from '../contract/health.js'

/** A check's failure with its code (what the public readiness probe shows) and its details. */
export class HealthCheckFailure extends Error {
  constructor(
    readonly code: HealthCodeValue,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
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
          reject(new HealthCheckFailure('timeout', `no answer within ${timeoutMs} ms`))
        }, timeoutMs)
      }),
    ])
    return { component, up: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 }
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err)
    return { component, up: false, latencyMs: null, code: failureCode(err), error }
  } finally {
    clearTimeout(timer)
  }
}

/** Socket errors that mean "cannot get there", wherever they sit (fetch puts them in `cause`). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

function failureCode(err: unknown): HealthCodeValue {
  if (err instanceof HealthCheckFailure) return err.code
  if (isDatabaseUnavailable(err)) return 'unreachable'
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause
  if (typeof cause?.code === 'string' && NETWORK_CODES.has(cause.code)) return 'unreachable'
  if (err instanceof Error && (err.name === 'TimeoutError' || /timed out/i.test(err.message))) return 'timeout'
  return 'error'
}

export const databaseCheck =
  (db: Kysely<Database>): HealthCheck =>
  async () => {
    await sql`select 1`.execute(db)
  }

export const redisCheck =
  (redis: Redis): HealthCheck =>
  async () => {
    if (redis.status !== 'ready') throw new HealthCheckFailure('unreachable', `redis connection is ${redis.status}`)
    await redis.ping()
  }
