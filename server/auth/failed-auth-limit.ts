import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { tooManyRequests, type AppError } from '../errors.js'

export interface FailedAuthLimitOptions {
  /** Shared counts across the fleet; null: this instance's memory. */
  redis: Redis | null
  /** Redis keys are `<keyPrefix>:<address>`. */
  keyPrefix: string
  /** Failures allowed per address per window; the next one is refused. */
  limit: number
  windowSeconds: number
  /** An address went over the limit (once per window on each instance that sees it). */
  onRefused: (address: string, retryAfterSeconds: number) => void
  onError: (err: unknown) => void
}

/**
 * Failed authentications per client address, counted in fixed windows by rate-limiter-flexible:
 * in Redis when there is one (so the count holds across instances; should Redis fail, each
 * instance goes on counting in memory), else in memory. An address over the limit is
 * refused until its window ends: that is remembered here, so a refused request costs no
 * Redis round trip and no token lookup. Another instance learns of it from the shared count
 * at the address's next failure there.
 */
export class FailedAuthLimit {
  private readonly counter: RateLimiterRedis | RateLimiterMemory
  /** Addresses over the limit, and when their window ends. */
  private readonly refusedUntil = new LRUCache<string, number>({ max: 100_000 })

  constructor(private readonly options: FailedAuthLimitOptions) {
    const { redis, keyPrefix, limit, windowSeconds } = options
    const memory = new RateLimiterMemory({ keyPrefix, points: limit, duration: windowSeconds })
    this.counter = redis
      ? new RateLimiterRedis({
          storeClient: redis,
          keyPrefix,
          points: limit,
          duration: windowSeconds,
          rejectIfRedisNotReady: true,
          insuranceLimiter: memory,
        })
      : memory
  }

  /** The 429 to answer now, when `address` is over the limit; memory only. */
  refusal(address: string, now = Date.now()): AppError | null {
    const until = this.refusedUntil.get(address)
    if (until === undefined) return null
    if (until <= now) {
      this.refusedUntil.delete(address)
      return null
    }
    return refusedFor(until - now)
  }

  /** Counts one failure of `address`; the 429 to answer instead of 401 when that took it over the limit. */
  async failed(address: string, now = Date.now()): Promise<AppError | null> {
    try {
      await this.counter.consume(address)
      return null
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        // Neither Redis nor memory counted it: answer the 401 rather than fail the request.
        this.options.onError(rejection)
        return null
      }
      const waitMs = Math.max(rejection.msBeforeNext, 1)
      this.refusedUntil.set(address, now + waitMs)
      const error = refusedFor(waitMs)
      if (rejection.consumedPoints === this.options.limit + 1) {
        this.options.onRefused(address, Number(error.headers['retry-after']))
      }
      return error
    }
  }
}

/** The app's limit: AUTH_FAILURE_LIMIT per AUTH_FAILURE_WINDOW_S, in Redis under CACHE_PREFIX when there is one. */
export function failedAuthLimit(app: FastifyInstance): FailedAuthLimit {
  const { auth, cachePrefix } = app.config
  return new FailedAuthLimit({
    redis: app.redis,
    keyPrefix: `${cachePrefix}auth-failures`,
    limit: auth.failureLimit,
    windowSeconds: auth.failureWindowSeconds,
    onRefused: (address, retryAfterSeconds) =>
      app.log.warn(
        { address, limit: auth.failureLimit, retryAfterSeconds },
        'too many failed authentications from one address: refusing it until its window ends',
      ),
    onError: (err) => app.log.warn({ err }, 'could not count a failed authentication'),
  })
}

function refusedFor(waitMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000))
  return tooManyRequests(`Too many failed authentications from this address; retry in ${seconds} s`, seconds)
}
