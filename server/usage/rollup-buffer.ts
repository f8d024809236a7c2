import type { FastifyBaseLogger } from 'fastify'
import { PendingMap, WriteBehind } from '../infra/db/write-behind.js'
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

/**
 * Write-behind for usage_rollup (a WriteBehind), like the analytics event buffer: the request
 * path adds to an in-memory row per scope × token × model × hour and returns; the rows are
 * upserted in one statement every `flushIntervalMs`. Requests in one interval of one key cost
 * one row. A write that fails merges its rows back for the next attempt (their counts are only
 * ever added).
 */
export class UsageRollupBuffer {
  private readonly buffer: WriteBehind<UsageIncrement>

  constructor(
    repository: UsageRepository,
    log: FastifyBaseLogger,
    options: RollupBufferOptions = DEFAULT_ROLLUP_BUFFER,
  ) {
    this.buffer = new WriteBehind<UsageIncrement>(
      {
        intervalMs: options.flushIntervalMs,
        maxItems: options.batchRows,
        closeTimeoutMs: options.closeTimeoutMs,
        what: 'usage',
        pending: new PendingMap(keyOf, merge),
        write: (batch) => repository.add(batch),
      },
      log,
    )
  }

  get pending(): number {
    return this.buffer.pending
  }

  add(increment: UsageIncrement): void {
    this.buffer.add(increment)
  }

  /** Writes everything added before this call; rejects when the database refuses (the rows stay). */
  flush(): Promise<void> {
    return this.buffer.flush()
  }

  close(): Promise<void> {
    return this.buffer.close()
  }
}

const keyOf = (increment: UsageIncrement) =>
  `${increment.scope}\u0000${increment.token_id}\u0000${increment.model}\u0000${increment.upstream}\u0000${increment.hour.getTime()}`

function merge(row: UsageIncrement, increment: UsageIncrement): void {
  row.requests += increment.requests
  row.cached_requests += increment.cached_requests
  row.prompt_tokens += increment.prompt_tokens
  row.completion_tokens += increment.completion_tokens
  row.cost = row.cost === null && increment.cost === null ? null : (row.cost ?? 0) + (increment.cost ?? 0)
  row.project = increment.project
}
