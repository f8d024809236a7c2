import { LRUCache } from 'lru-cache'

/** The limits in force for one subject; an absent one is unlimited. */
export interface LimitValues {
  rpm?: number
  tpm?: number
  concurrency?: number
}

export type LimitReason = 'rpm' | 'tpm' | 'concurrency'

/** One admission to check: which subject, against which limits, reserving how many tokens. */
export interface AcquireRequest {
  /** The subject's key (prefixed, with a Redis hash tag: every key of one subject is in one slot). */
  key: string
  limits: LimitValues
  /** Tokens to reserve: the estimated prompt plus the output cap. */
  tokens: number
  /** This request's concurrency slot. */
  leaseId: string
  /** A slot not released by then is free again (an instance that died holding it). */
  leaseMs: number
}

/** What the check found: the levels after it (reserved when admitted), and why not when refused. */
export interface AcquireOutcome {
  refused: LimitReason | null
  /** Requests left in the rpm bucket (fractional: it refills continuously); -1 without an rpm limit. */
  requestLevel: number
  /** Tokens left in the tpm bucket; -1 without a tpm limit. */
  tokenLevel: number
  /** When refused: how long until the request could pass. */
  retryMs: number
}

/**
 * Where limit state lives: Redis (one Lua script per operation, so a check and its reservation
 * are one atomic step across the fleet) or this instance's memory. Both implement the same
 * buckets: rpm and tpm are token buckets of `limit` that refill `limit` a minute (so "n a
 * minute" holds over any 60 s, bursts up to the limit included), concurrency is a set of
 * leases. Every check happens before any change, so a refused request takes nothing.
 */
export interface LimitStore {
  acquire(request: AcquireRequest): Promise<AcquireOutcome>
  /** Gives back `refund` reserved tokens (negative: takes more) and releases the slot. */
  settle(key: string, limits: LimitValues, refund: number, leaseId: string): Promise<void>
}

const MINUTE_MS = 60_000

interface Bucket {
  level: number
  at: number
}

/** The same buckets as the Redis script, in this instance's memory (no Redis, or Redis down). */
export class MemoryLimitStore implements LimitStore {
  private readonly buckets = new LRUCache<string, Bucket>({ max: 100_000 })
  private readonly leases = new LRUCache<string, Map<string, number>>({ max: 100_000 })

  constructor(private readonly clock: () => number = Date.now) {}

  async acquire(request: AcquireRequest): Promise<AcquireOutcome> {
    const now = this.clock()
    const { key, limits, tokens } = request
    let refused: LimitReason | null = null
    let retryMs = 0
    const requestLevel = limits.rpm ? this.level(`${key}:rpm`, limits.rpm, now) : -1
    if (limits.rpm && requestLevel < 1) {
      refused = 'rpm'
      retryMs = Math.ceil(((1 - requestLevel) * MINUTE_MS) / limits.rpm)
    }
    const tokenLevel = limits.tpm ? this.level(`${key}:tpm`, limits.tpm, now) : -1
    if (limits.tpm && tokenLevel < tokens) {
      refused ??= 'tpm'
      retryMs = Math.max(
        retryMs,
        tokens > limits.tpm ? MINUTE_MS : Math.ceil(((tokens - tokenLevel) * MINUTE_MS) / limits.tpm),
      )
    }
    let held: Map<string, number> | undefined
    if (limits.concurrency) {
      held = this.leases.get(key) ?? new Map()
      for (const [id, until] of held) if (until <= now) held.delete(id)
      if (held.size >= limits.concurrency) {
        refused ??= 'concurrency'
        retryMs = Math.max(retryMs, 1_000)
      }
    }
    if (refused) return { refused, requestLevel, tokenLevel, retryMs }
    if (limits.rpm) this.buckets.set(`${key}:rpm`, { level: requestLevel - 1, at: now })
    if (limits.tpm) this.buckets.set(`${key}:tpm`, { level: tokenLevel - tokens, at: now })
    if (held) {
      held.set(request.leaseId, now + request.leaseMs)
      this.leases.set(key, held)
    }
    return {
      refused: null,
      requestLevel: limits.rpm ? requestLevel - 1 : -1,
      tokenLevel: limits.tpm ? tokenLevel - tokens : -1,
      retryMs: 0,
    }
  }

  async settle(key: string, limits: LimitValues, refund: number, leaseId: string): Promise<void> {
    if (limits.tpm && refund !== 0) {
      const now = this.clock()
      const level = Math.min(limits.tpm, this.level(`${key}:tpm`, limits.tpm, now) + refund)
      this.buckets.set(`${key}:tpm`, { level, at: now })
    }
    this.leases.get(key)?.delete(leaseId)
  }

  private level(key: string, capacity: number, now: number): number {
    const bucket = this.buckets.get(key)
    if (!bucket) return capacity
    return Math.min(capacity, bucket.level + ((now - bucket.at) * capacity) / MINUTE_MS)
  }
}
