import type { FastifyBaseLogger } from 'fastify'
import type { UsageIncrement, UsageRepository } from './repository.js'

export interface RollupBufferOptions {
  /** How long an increment may wait before it is written. */
  flushIntervalMs: number
  /** Rows (distinct scope × token × model × hour) that make a batch be written at once. */
  batchRows: number
  /** On close, keep retrying a failing write for this long. */
  closeTimeoutMs: number
}

export const DEFAULT_ROLLUP_BUFFER: RollupBufferOptions = {
  flushIntervalMs: 250,
  batchRows: 500,
  closeTimeoutMs: 5_000,
}

const FAILURE_LOG_INTERVAL_MS = 10_000
const CLOSE_RETRY_MS = 200

/**
 * Write-behind for usage_rollup, like the analytics event buffer: the request path adds to an
 * in-memory row per scope × token × model × hour and returns; the rows are upserted in one
 * statement every `flushIntervalMs`. Requests in one interval of one key cost one row. A write
 * that fails merges its rows back for the next attempt (their counts are only ever added).
 */
export class UsageRollupBuffer {
  private rows = new Map<string, UsageIncrement>()
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> | undefined
  private closed = false
  private lastFailureLoggedAt = 0

  constructor(
    private readonly repository: UsageRepository,
    private readonly log: FastifyBaseLogger,
    private readonly options: RollupBufferOptions = DEFAULT_ROLLUP_BUFFER,
  ) {}

  get pending(): number {
    return this.rows.size
  }

  add(increment: UsageIncrement): void {
    merge(this.rows, increment)
    if (this.closed) {
      void this.flush().catch((err) => this.logFailure(err, 'could not write usage after close'))
      return
    }
    if (this.rows.size >= this.options.batchRows) this.startWrite()
    else this.timer ??= setTimeout(() => this.startWrite(), this.options.flushIntervalMs).unref()
  }

  /** Writes everything added before this call; rejects when the database refuses (the rows stay). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing.catch(() => {})
    if (this.rows.size) await this.write()
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    this.timer = undefined
    const deadline = Date.now() + this.options.closeTimeoutMs
    for (;;) {
      try {
        return await this.flush()
      } catch (err) {
        if (Date.now() + CLOSE_RETRY_MS >= deadline) {
          this.log.error({ err, rows: this.rows.size }, 'could not write the buffered usage before shutting down')
          this.rows.clear()
          return
        }
        await new Promise((resolve) => setTimeout(resolve, CLOSE_RETRY_MS))
      }
    }
  }

  private startWrite(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.writing || this.rows.size === 0) return
    this.write().catch((err) => this.logFailure(err, 'could not write usage; will retry'))
  }

  private write(): Promise<void> {
    const batch = [...this.rows.values()]
    this.rows = new Map()
    const writing = this.repository.add(batch).then(
      () => {
        this.writing = undefined
        if (this.rows.size && !this.closed)
          this.timer ??= setTimeout(() => this.startWrite(), this.options.flushIntervalMs).unref()
      },
      (err: unknown) => {
        this.writing = undefined
        for (const row of batch) merge(this.rows, row)
        if (!this.closed) this.timer ??= setTimeout(() => this.startWrite(), this.options.flushIntervalMs).unref()
        throw err
      },
    )
    this.writing = writing
    return writing
  }

  private logFailure(err: unknown, message: string): void {
    const now = Date.now()
    if (now - this.lastFailureLoggedAt < FAILURE_LOG_INTERVAL_MS) return
    this.lastFailureLoggedAt = now
    this.log.warn({ err, pending: this.rows.size }, message)
  }
}

function merge(rows: Map<string, UsageIncrement>, increment: UsageIncrement): void {
  const key = `${increment.scope}\u0000${increment.token_id}\u0000${increment.model}\u0000${increment.upstream}\u0000${increment.hour.getTime()}`
  const row = rows.get(key)
  if (!row) {
    rows.set(key, { ...increment })
    return
  }
  row.requests += increment.requests
  row.cached_requests += increment.cached_requests
  row.prompt_tokens += increment.prompt_tokens
  row.completion_tokens += increment.completion_tokens
  row.cost = row.cost === null && increment.cost === null ? null : (row.cost ?? 0) + (increment.cost ?? 0)
  row.project = increment.project
}
