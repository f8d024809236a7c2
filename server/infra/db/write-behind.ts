import type { FastifyBaseLogger } from 'fastify'

/**
 * Where a write-behind buffer keeps what waits: a list (every item written) or a map that merges
 * items of one key (counters). `putBack` returns a failed write's items ahead of newer ones.
 */
export interface PendingItems<T> {
  readonly size: number
  add(item: T): void
  /** Everything waiting, emptied. */
  take(): T[]
  putBack(items: T[]): void
  /** Drops the `count` oldest. */
  dropOldest(count: number): void
  clear(): void
}

export class PendingList<T> implements PendingItems<T> {
  private items: T[] = []
  get size(): number {
    return this.items.length
  }
  add(item: T): void {
    this.items.push(item)
  }
  take(): T[] {
    const items = this.items
    this.items = []
    return items
  }
  putBack(items: T[]): void {
    this.items = items.concat(this.items)
  }
  dropOldest(count: number): void {
    this.items.splice(0, count)
  }
  clear(): void {
    this.items = []
  }
}

/** Items of one `key` merged into one (`merge(into, item)` adds `item` to `into`). */
export class PendingMap<T> implements PendingItems<T> {
  private items = new Map<string, T>()
  constructor(
    private readonly key: (item: T) => string,
    private readonly merge: (into: T, item: T) => void,
  ) {}
  get size(): number {
    return this.items.size
  }
  add(item: T): void {
    const key = this.key(item)
    const into = this.items.get(key)
    if (into) this.merge(into, item)
    else this.items.set(key, { ...item })
  }
  take(): T[] {
    const items = [...this.items.values()]
    this.items = new Map()
    return items
  }
  putBack(items: T[]): void {
    for (const item of items) this.add(item)
  }
  dropOldest(count: number): void {
    for (const key of [...this.items.keys()].slice(0, count)) this.items.delete(key)
  }
  clear(): void {
    this.items = new Map()
  }
}

/** Thrown by `write` when only part of a batch was written: `unwritten` goes back. */
export class PartialWriteError<T> extends Error {
  constructor(
    override readonly cause: unknown,
    readonly unwritten: T[],
  ) {
    super(cause instanceof Error ? cause.message : String(cause))
  }
}

export interface WriteBehindOptions<T> {
  /** How long an item may wait before it is written. */
  intervalMs: number
  /** This many pending items are written at once, without waiting for the interval. */
  maxItems: number
  /** On close, keep retrying a failing write for this long before giving the items up. */
  closeTimeoutMs: number
  /**
   * While writes fail, at most this many items wait; beyond it the oldest are dropped (and
   * logged), so an outage costs items, never unbounded memory. Absent: no bound.
   */
  maxPending?: number
  /** Writes a batch; a rejection puts the batch (or a PartialWriteError's `unwritten`) back. */
  write(batch: T[]): Promise<void>
  /** What the items are, in log messages ("analytics events"). */
  what: string
  /** Where pending items wait (default: a list). */
  pending?: PendingItems<T>
}

const FAILURE_LOG_INTERVAL_MS = 10_000
const CLOSE_RETRY_MS = 200

/**
 * Write-behind: the caller adds in memory and returns; the items are written in batches every
 * `intervalMs` (or as soon as `maxItems` wait). `flush()` writes everything added before it;
 * `close()` (after the last add) writes what is left, retrying up to `closeTimeoutMs`. A failed
 * background write is logged (at most every 10 s) and its items wait for the next attempt.
 */
export class WriteBehind<T> {
  private readonly items: PendingItems<T>
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> | undefined
  private isClosed = false
  private lastFailureLoggedAt = 0
  /** Items given up: dropped for room during an outage, or unwritten at close (plus any `drop` counts). */
  dropped = 0

  constructor(
    private readonly options: WriteBehindOptions<T>,
    private readonly log: FastifyBaseLogger,
  ) {
    this.items = options.pending ?? new PendingList<T>()
  }

  /** Items waiting to be written. */
  get pending(): number {
    return this.items.size
  }

  get closed(): boolean {
    return this.isClosed
  }

  add(item: T): void {
    this.items.add(item)
    if (this.isClosed) {
      // Nothing should add after close; should something, it is written at once.
      void this.flush().catch((err) => this.logFailure(err, `could not write ${this.options.what} after close`))
      return
    }
    const max = this.options.maxPending
    if (max !== undefined && this.items.size > max) {
      const excess = this.items.size - max
      this.items.dropOldest(excess)
      this.dropped += excess
      this.logFailure(
        undefined,
        `${this.options.what} buffer full while the database is not taking them; dropped the ${excess} oldest`,
      )
    }
    if (this.items.size >= this.options.maxItems) this.startWrite()
    else this.schedule()
  }

  /** Writes everything added before this call (after a write under way); rejects when the write fails (the items stay). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing.catch(() => {})
    if (this.items.size) await this.write()
  }

  /** Stops the timer and writes what is left, retrying for up to `timeoutMs` (default: the option). */
  async close(timeoutMs = this.options.closeTimeoutMs): Promise<void> {
    this.isClosed = true
    clearTimeout(this.timer)
    this.timer = undefined
    const deadline = Date.now() + timeoutMs
    for (;;) {
      try {
        return await this.flush()
      } catch (err) {
        if (Date.now() + CLOSE_RETRY_MS >= deadline) {
          this.dropped += this.items.size
          this.log.error(
            { err, pending: this.items.size },
            `could not write the buffered ${this.options.what} before shutting down; they are lost`,
          )
          this.items.clear()
          return
        }
        await new Promise((resolve) => setTimeout(resolve, CLOSE_RETRY_MS))
      }
    }
  }

  private schedule(): void {
    if (!this.isClosed) this.timer ??= setTimeout(() => this.startWrite(), this.options.intervalMs).unref()
  }

  private startWrite(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.writing || this.items.size === 0) return
    this.write().catch((err) => this.logFailure(err, `could not write ${this.options.what}; will retry`))
  }

  private write(): Promise<void> {
    const batch = this.items.take()
    const writing = this.options.write(batch).then(
      () => {
        this.writing = undefined
        if (this.items.size >= this.options.maxItems) setImmediate(() => this.startWrite())
        else if (this.items.size) this.schedule()
      },
      (err: unknown) => {
        this.writing = undefined
        this.items.putBack(err instanceof PartialWriteError ? (err.unwritten as T[]) : batch)
        if (this.items.size) this.schedule()
        throw err instanceof PartialWriteError ? err.cause : err
      },
    )
    this.writing = writing
    return writing
  }

  private logFailure(err: unknown, message: string): void {
    const now = Date.now()
    if (now - this.lastFailureLoggedAt < FAILURE_LOG_INTERVAL_MS) return
    this.lastFailureLoggedAt = now
    this.log.warn({ err, pending: this.items.size, dropped: this.dropped }, message)
  }
}
