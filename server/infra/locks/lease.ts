import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { DatabaseHandle } from '../db/connect.js'
import { AdvisoryLockStore } from './advisory.js'

/**
 * A held lock. `lost` fires when the store can no longer vouch for it (its lease expired in
 * Redis, its connection died): the run holding it should stop.
 */
export interface Lease {
  readonly lost: AbortSignal
  release(): Promise<void>
}

/** Mutual exclusion of job runs across every instance sharing the store. */
export interface LockStore {
  readonly kind: 'redis' | 'postgres' | 'local'
  /** The lease, or null when someone else holds the lock. */
  tryAcquire(name: string): Promise<Lease | null>
}

const LEASE_MS = 30_000
const RENEW_EVERY_MS = 10_000

// Compare-and-act on the token, atomically: a lease that expired and was taken by another
// instance must never be extended or deleted by its former holder.
const RENEW_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`

/** Redis `SET NX PX` lease, renewed while held, released only by its token's owner. */
export class RedisLockStore implements LockStore {
  readonly kind = 'redis'

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: FastifyBaseLogger,
    private readonly leaseMs = LEASE_MS,
    private readonly renewEveryMs = RENEW_EVERY_MS,
  ) {}

  async tryAcquire(name: string): Promise<Lease | null> {
    const key = `${this.prefix}jobs:lock:${name}`
    const token = randomUUID()
    const ok = await this.redis.set(key, token, 'PX', this.leaseMs, 'NX')
    if (ok !== 'OK') return null
    const lost = new AbortController()
    const timer = setInterval(() => {
      this.redis.eval(RENEW_SCRIPT, 1, key, token, String(this.leaseMs)).then(
        (renewed) => {
          if (Number(renewed) === 1) return
          clearInterval(timer)
          lost.abort(new Error(`lock ${name} expired and was lost`))
        },
        // A blip: the lease outlives a few failed renewals; if it really expires, the next
        // successful call sees a foreign token and reports the loss.
        (err: unknown) => this.log.warn({ err, lock: name }, 'could not renew job lock'),
      )
    }, this.renewEveryMs)
    timer.unref()
    return {
      lost: lost.signal,
      release: async () => {
        clearInterval(timer)
        await this.redis.eval(RELEASE_SCRIPT, 1, key, token).catch((err: unknown) => {
          this.log.warn({ err, lock: name }, 'could not release job lock; it expires on its own')
        })
      },
    }
  }
}

/**
 * In-process locks, for the embedded database: PGlite is opened by one process only, and its
 * single session would make advisory locks re-entrant (they would exclude nothing).
 */
export class LocalLockStore implements LockStore {
  readonly kind = 'local'
  private readonly held = new Set<string>()

  async tryAcquire(name: string): Promise<Lease | null> {
    if (this.held.has(name)) return null
    this.held.add(name)
    return {
      lost: new AbortController().signal,
      release: async () => {
        this.held.delete(name)
      },
    }
  }
}

export interface LockStoreDeps {
  redis: Redis | null
  database: DatabaseHandle
  /** CACHE_PREFIX: every key we write starts with it. */
  prefix: string
  log: FastifyBaseLogger
}

/** Redis when configured, else advisory locks on a real Postgres, else in-process. */
export function createLockStore(deps: LockStoreDeps): LockStore {
  if (deps.redis) return new RedisLockStore(deps.redis, deps.prefix, deps.log)
  if (deps.database.kind === 'postgres')
    return new AdvisoryLockStore(deps.database.db, `${deps.prefix}${deps.database.schema}:`, deps.log)
  return new LocalLockStore()
}
