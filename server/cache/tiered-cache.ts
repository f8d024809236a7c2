import { randomUUID } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { Metrics } from '../metrics/definitions.js'
import { baseNamespace, CACHE_NAMESPACES, sha256Hex, type BaseNamespace } from './keys.js'
import { clearChannel, type ClearMessage } from './invalidation.js'
import { countKeys, deleteKeys, readRedisInfo, type RedisInfo } from './redis-admin.js'

export interface TieredCacheOptions {
  redis: Redis | null
  prefix: string
  ttlSeconds: Record<BaseNamespace, number>
  l1MaxEntries: number
  l1MaxBytes: number
  metrics: Pick<Metrics, 'cacheRequestsTotal'>
  log: FastifyBaseLogger
}

export interface GetOrComputeOptions {
  /** Seconds; default the namespace's TTL. */
  ttl?: number
  /** Skip the lookup: compute a fresh value (still stored unless noStore). */
  noCache?: boolean
  /** Do not store the computed value. */
  noStore?: boolean
  /** `key(namespace, key)`, when the caller has computed it already (it is a SHA-256). */
  fullKey?: string
}

/** Where a value came from: a layer, another caller's identical computation, or this caller's compute. */
export type CacheSource = 'l1' | 'l2' | 'shared' | 'computed'

export interface CacheOutcome<T> {
  value: T
  source: CacheSource
  /** The full key (`${prefix}${namespace}:${hash}`). */
  key: string
}

interface Counters {
  l1Hits: number
  l2Hits: number
  coalesced: number
  misses: number
}

export interface NamespaceStats {
  ttl_seconds: number
  hits: number
  misses: number
  hit_rate: number | null
  l1_hits: number
  l2_hits: number
  /** Callers that waited for an identical computation already under way instead of starting their own. */
  coalesced: number
}

export interface CacheStats {
  layers: { l1: boolean; l2: boolean }
  namespaces: Record<BaseNamespace, NamespaceStats>
  l1: { entries: number; bytes: number; max_entries: number; max_bytes: number }
  l2:
    (Partial<RedisInfo> & { connected: boolean; errors: number; keys: number | null; cache_keys: number | null }) | null
}

const FAILURE_LOG_INTERVAL_MS = 10_000

type Flight = Promise<{ value: unknown; source: 'l2' | 'computed' }>

/**
 * Two layers under one API: L1 is an in-process LRU bounded by entries and bytes; L2 is Redis
 * when configured. Reads go L1 → L2 → compute, an L2 hit refills L1 for the entry's remaining
 * TTL, and identical concurrent misses share one computation. Redis trouble never throws out
 * of here: the command fails fast, is counted, and the cache carries on with L1.
 * Values are JSON; callers treat what they get back as immutable (followers share it).
 */
export class TieredCache {
  private readonly l1: LRUCache<string, string>
  private readonly inflight = new Map<string, Flight>()
  private readonly counters = Object.fromEntries(
    CACHE_NAMESPACES.map((n) => [n, { l1Hits: 0, l2Hits: 0, coalesced: 0, misses: 0 }]),
  ) as Record<BaseNamespace, Counters>
  private l2Errors = 0
  private lastFailureLoggedAt = 0
  /** Tells this cache's own clear announcements apart from other instances' (several apps may share a process). */
  readonly id = randomUUID()

  constructor(private readonly options: TieredCacheOptions) {
    this.l1 = new LRUCache<string, string>({
      max: options.l1MaxEntries,
      maxSize: options.l1MaxBytes,
      sizeCalculation: (value, key) => Buffer.byteLength(value) + key.length,
    })
  }

  get prefix(): string {
    return this.options.prefix
  }

  /** The Redis key of `key` (any string: it is hashed) in `namespace`. */
  key(namespace: string, key: string): string {
    baseNamespace(namespace)
    return `${this.options.prefix}${namespace}:${sha256Hex(key)}`
  }

  async get<T>(namespace: string, key: string): Promise<T | undefined> {
    const base = baseNamespace(namespace)
    const full = this.key(namespace, key)
    const found = this.readL1(base, full) ?? (await this.readL2(base, full))
    if (found === undefined) this.counters[base].misses++
    return found === undefined ? undefined : (found as T)
  }

  async set(namespace: string, key: string, value: unknown, options: { ttl?: number } = {}): Promise<void> {
    const base = baseNamespace(namespace)
    await this.write(this.key(namespace, key), value, options.ttl ?? this.options.ttlSeconds[base])
  }

  async delete(namespace: string, key: string): Promise<void> {
    const full = this.key(namespace, key)
    this.l1.delete(full)
    const redis = this.readyRedis()
    if (redis) await redis.unlink(full).catch((err) => this.l2Failed(err, 'unlink'))
  }

  async getOrCompute<T>(
    namespace: string,
    key: string,
    compute: () => Promise<T>,
    options: GetOrComputeOptions = {},
  ): Promise<CacheOutcome<T>> {
    const base = baseNamespace(namespace)
    const full = options.fullKey ?? this.key(namespace, key)
    const ttl = options.ttl ?? this.options.ttlSeconds[base]
    if (!options.noCache) {
      const local = this.readL1(base, full)
      if (local !== undefined) return { value: local as T, source: 'l1', key: full }
      const running = this.inflight.get(full)
      if (running) {
        const { value } = await running
        this.counters[base].coalesced++
        return { value: value as T, source: 'shared', key: full }
      }
    }
    const run: Flight = (async () => {
      if (!options.noCache) {
        const remote = await this.readL2(base, full)
        if (remote !== undefined) return { value: remote, source: 'l2' as const }
        this.counters[base].misses++
      }
      const value = await compute()
      // Not waiting for Redis' reply: the SET has left (see write) before the answer goes out, so
      // another instance asked after it finds the entry; a computed answer is not delayed by a round trip.
      if (!options.noStore) void this.write(full, value, ttl)
      return { value, source: 'computed' as const }
    })()
    // Only a computation whose result will be stored is shared: a no-cache or no-store caller
    // asked for its own answer.
    if (!options.noCache && !options.noStore) {
      this.inflight.set(full, run)
      run.then(
        () => this.inflight.delete(full),
        () => this.inflight.delete(full),
      )
    }
    const { value, source } = await run
    return { value: value as T, source, key: full }
  }

  /** This instance's L1 only (another instance announced a clear). Returns the entries removed. */
  clearLocal(namespace?: string): number {
    if (!namespace) {
      const n = this.l1.size
      this.l1.clear()
      return n
    }
    const start = `${this.options.prefix}${namespace}:`
    let n = 0
    for (const key of [...this.l1.keys()]) {
      if (key.startsWith(start) && this.l1.delete(key)) n++
    }
    return n
  }

  /**
   * Deletes cached entries of one namespace (with its sub-namespaces) or of every cache
   * namespace: L1 here, and in Redis only keys under our prefix (SCAN + UNLINK in batches).
   * Other features' keys under the prefix (rate limits, locks) are not cache entries and stay.
   * Other instances are told to drop their L1 too. Throws when Redis is configured but
   * unreachable, after clearing L1.
   */
  async clear(options: { namespace?: string } = {}): Promise<{ l1: number; l2: number }> {
    const { namespace } = options
    if (namespace) baseNamespace(namespace)
    const l1 = this.clearLocal(namespace)
    const { redis } = this.options
    if (!redis) return { l1, l2: 0 }
    if (redis.status !== 'ready') throw new Error(`redis connection is ${redis.status}`)
    const pattern = `${this.options.prefix}${namespace ? `${namespace}:` : ''}*`
    const l2 = await deleteKeys(redis, pattern, namespace ? undefined : (key) => this.isCacheKey(key))
    const message: ClearMessage = { from: this.id, namespace: namespace ?? null }
    await redis
      .publish(clearChannel(this.options.prefix), JSON.stringify(message))
      .catch((err) => this.l2Failed(err, 'publish'))
    return { l1, l2 }
  }

  async stats(): Promise<CacheStats> {
    const namespaces = {} as Record<BaseNamespace, NamespaceStats>
    for (const name of CACHE_NAMESPACES) {
      const c = this.counters[name]
      const hits = c.l1Hits + c.l2Hits + c.coalesced
      namespaces[name] = {
        ttl_seconds: this.options.ttlSeconds[name],
        hits,
        misses: c.misses,
        hit_rate: hits + c.misses > 0 ? hits / (hits + c.misses) : null,
        l1_hits: c.l1Hits,
        l2_hits: c.l2Hits,
        coalesced: c.coalesced,
      }
    }
    return {
      layers: { l1: true, l2: this.options.redis !== null },
      namespaces,
      l1: {
        entries: this.l1.size,
        bytes: this.l1.calculatedSize,
        max_entries: this.options.l1MaxEntries,
        max_bytes: this.options.l1MaxBytes,
      },
      l2: this.options.redis ? await this.redisStats(this.options.redis) : null,
    }
  }

  private async redisStats(redis: Redis): Promise<NonNullable<CacheStats['l2']>> {
    const down = { connected: false, errors: this.l2Errors, keys: null, cache_keys: null }
    if (redis.status !== 'ready') return down
    try {
      const [info, counted] = await Promise.all([
        readRedisInfo(redis),
        countKeys(redis, `${this.options.prefix}*`, (key) => this.isCacheKey(key)),
      ])
      return { connected: true, errors: this.l2Errors, ...info, keys: counted.total, cache_keys: counted.matching }
    } catch (err) {
      this.l2Failed(err, 'stats')
      return { ...down, errors: this.l2Errors }
    }
  }

  private isCacheKey(key: string): boolean {
    const rest = key.slice(this.options.prefix.length)
    return CACHE_NAMESPACES.some((n) => rest.startsWith(`${n}:`))
  }

  private readL1(base: BaseNamespace, full: string): unknown {
    const raw = this.l1.get(full)
    this.count(base, 'l1', raw !== undefined)
    if (raw === undefined) return undefined
    this.counters[base].l1Hits++
    return JSON.parse(raw)
  }

  private async readL2(base: BaseNamespace, full: string): Promise<unknown> {
    const redis = this.readyRedis()
    if (!redis) return undefined
    let raw: string | null
    let pttl: number
    try {
      ;[raw, pttl] = await Promise.all([redis.get(full), redis.pttl(full)])
    } catch (err) {
      this.l2Failed(err, 'get')
      this.count(base, 'l2', false)
      return undefined
    }
    let value: unknown
    try {
      value = raw === null ? undefined : JSON.parse(raw)
    } catch {
      value = undefined // not ours to read: treat as absent, the next write replaces it
    }
    this.count(base, 'l2', value !== undefined)
    if (value === undefined) return undefined
    this.counters[base].l2Hits++
    this.l1.set(full, raw!, { ttl: pttl > 0 ? pttl : this.options.ttlSeconds[base] * 1000 })
    return value
  }

  /**
   * L1 at once, and the SET to Redis written to its connection before this returns: an explicit
   * pipeline goes out now, where an auto-pipelined command would wait for the next batch
   * (setImmediate). Resolves when Redis has answered; a failure is counted, never thrown.
   */
  private write(full: string, value: unknown, ttlSeconds: number): Promise<void> {
    const json = JSON.stringify(value)
    this.l1.set(full, json, { ttl: ttlSeconds * 1000 })
    const redis = this.readyRedis()
    if (!redis) return Promise.resolve()
    return redis
      .pipeline()
      .set(full, json, 'EX', ttlSeconds)
      .exec()
      .then(
        (results) => {
          const err = results?.[0]?.[0]
          if (err) this.l2Failed(err, 'set')
        },
        (err: unknown) => this.l2Failed(err, 'set'),
      )
  }

  /** Redis when it can answer now; null sends the caller straight to L1-only behaviour. */
  private readyRedis(): Redis | null {
    const { redis } = this.options
    return redis && redis.status === 'ready' ? redis : null
  }

  private l2Failed(err: unknown, operation: string): void {
    this.l2Errors++
    // During an outage every request fails here: one line per interval is enough.
    const now = Date.now()
    if (now - this.lastFailureLoggedAt < FAILURE_LOG_INTERVAL_MS) return
    this.lastFailureLoggedAt = now
    this.options.log.warn({ err, operation, errors: this.l2Errors }, 'redis cache command failed; continuing on L1')
  }

  private count(base: BaseNamespace, layer: 'l1' | 'l2', hit: boolean): void {
    this.options.metrics.cacheRequestsTotal.inc({ cache_type: base, layer, result: hit ? 'hit' : 'miss' })
  }
}
