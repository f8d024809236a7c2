import { LRUCache } from 'lru-cache'

/** The limits in force for one subject; an absent one is unlimited. */
export interface LimitValues {
  rpm?: number
  tpm?: number
  concurrency?: number
}

export type LimitReason = 'rpm' | 'tpm' | 'concurrency'

/** One subject a request is counted against: the token, or its project (shared by all its tokens). */
export interface LimitSubject {
  /** The subject's key (prefixed, with a Redis hash tag: every key of one subject is in one slot). */
  key: string
  limits: LimitValues
}

/** One admission to check: against which subjects (all must pass), reserving how many tokens. */
export interface AcquireRequest {
  subjects: LimitSubject[]
  /** Tokens to reserve: the estimated prompt plus the output cap. */
  tokens: number
  /** This request's concurrency slot. */
  leaseId: string
  /** A slot not released by then is free again (an instance that died holding it). */
  leaseMs: number
}

/** One subject's buckets after a check (reserved when admitted). */
export interface SubjectLevels {
  /** Requests left in the rpm bucket (fractional: it refills continuously); -1 without an rpm limit. */
  requestLevel: number
  /** Tokens left in the tpm bucket; -1 without a tpm limit. */
  tokenLevel: number
}

/** What the check found: each subject's levels, and why not (and whose limit) when refused. */
export interface AcquireOutcome {
  refused: LimitReason | null
  /** The index in `subjects` of the first subject that refused; -1 when admitted. */
  refusedBy: number
  levels: SubjectLevels[]
  /** When refused: how long until the request could pass. */
  retryMs: number
}

/**
 * Where limit state lives: Redis (one Lua script per operation, so a check and its reservation
 * are one atomic step across the fleet) or this instance's memory. Both implement the same
 * buckets: rpm and tpm are token buckets of `limit` that refill `limit` a minute (so "n a
 * minute" holds over any 60 s, bursts up to the limit included), concurrency is a set of
 * leases. Every subject is checked before anything changes, so a request refused by one
 * subject (the project) takes nothing from another (the token).
 */
export interface LimitStore {
  acquire(request: AcquireRequest): Promise<AcquireOutcome>
  /** Gives back `refund` reserved tokens (negative: takes more) and releases the slot, for every subject. */
  settle(subjects: LimitSubject[], refund: number, leaseId: string): Promise<void>
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
    const { tokens } = request
    let refused: LimitReason | null = null
    let refusedBy = -1
    let retryMs = 0
    const refuse = (reason: LimitReason, index: number, ms: number) => {
      if (!refused) [refused, refusedBy] = [reason, index]
      retryMs = Math.max(retryMs, ms)
    }
    const held: Array<Map<string, number> | undefined> = []
    const levels = request.subjects.map(({ key, limits }, i): SubjectLevels => {
      const requestLevel = limits.rpm ? this.level(`${key}:rpm`, limits.rpm, now) : -1
      if (limits.rpm && requestLevel < 1) refuse('rpm', i, Math.ceil(((1 - requestLevel) * MINUTE_MS) / limits.rpm))
      const tokenLevel = limits.tpm ? this.level(`${key}:tpm`, limits.tpm, now) : -1
      if (limits.tpm && tokenLevel < tokens)
        refuse('tpm', i, tokens > limits.tpm ? MINUTE_MS : Math.ceil(((tokens - tokenLevel) * MINUTE_MS) / limits.tpm))
      if (limits.concurrency) {
        const leases = this.leases.get(key) ?? new Map<string, number>()
        for (const [id, until] of leases) if (until <= now) leases.delete(id)
        if (leases.size >= limits.concurrency) refuse('concurrency', i, 1_000)
        held[i] = leases
      }
      return { requestLevel, tokenLevel }
    })
    if (refused) return { refused, refusedBy, levels, retryMs }
    request.subjects.forEach(({ key, limits }, i) => {
      const level = levels[i]!
      if (limits.rpm) this.buckets.set(`${key}:rpm`, { level: --level.requestLevel, at: now })
      if (limits.tpm) this.buckets.set(`${key}:tpm`, { level: (level.tokenLevel -= tokens), at: now })
      const leases = held[i]
      if (leases) {
        leases.set(request.leaseId, now + request.leaseMs)
        this.leases.set(key, leases)
      }
    })
    return { refused: null, refusedBy: -1, levels, retryMs: 0 }
  }

  async settle(subjects: LimitSubject[], refund: number, leaseId: string): Promise<void> {
    const now = this.clock()
    for (const { key, limits } of subjects) {
      if (limits.tpm && refund !== 0) {
        const level = Math.min(limits.tpm, this.level(`${key}:tpm`, limits.tpm, now) + refund)
        this.buckets.set(`${key}:tpm`, { level, at: now })
      }
      this.leases.get(key)?.delete(leaseId)
    }
  }

  private level(key: string, capacity: number, now: number): number {
    const bucket = this.buckets.get(key)
    if (!bucket) return capacity
    return Math.min(capacity, bucket.level + ((now - bucket.at) * capacity) / MINUTE_MS)
  }
}
