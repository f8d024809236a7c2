import type { FastifyBaseLogger } from 'fastify'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.js'
import { PartialWriteError, WriteBehind } from '../../infra/db/write-behind.js'

export interface NewAnalyticsEvent {
  type: string
  session_id: string | null
  conversation_id: string | null
  /** A JSON object, serialized with the whole batch. */
  data: object
  created_at: Date
}

export interface EventBufferOptions {
  /** How long an event may wait before it is written. */
  flushIntervalMs: number
  /** A batch this large is written at once, without waiting for the interval. */
  batchRows: number
  /**
   * While the database cannot take them, at most this many events wait; beyond it the oldest
   * are dropped (and logged), so an outage costs events, never unbounded memory.
   */
  maxBufferedRows: number
  /** On close, keep retrying a failing write for this long before giving the events up. */
  closeTimeoutMs: number
}

export const DEFAULT_EVENT_BUFFER: EventBufferOptions = {
  flushIntervalMs: 250,
  batchRows: 500,
  maxBufferedRows: 50_000,
  closeTimeoutMs: 5_000,
}

/** Rows per INSERT statement (one JSON parameter of about 1 kB a row). */
const ROWS_PER_STATEMENT = 1_000

/**
 * Write-behind for analytics_events (a WriteBehind): the request path appends in memory and
 * returns; the events are written in multi-row INSERTs every `flushIntervalMs` (or as soon as a
 * batch is full). Readers that need what this instance recorded call `flush()` first; `close()`
 * (on shutdown, after the last request) writes everything still waiting. A write that fails
 * keeps its events for the next attempt, except data errors, which no retry would fix.
 */
export class AnalyticsEventBuffer {
  private readonly buffer: WriteBehind<NewAnalyticsEvent>
  /** Events the database rejected as data (counted in `dropped`). */
  private rejected = 0

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: FastifyBaseLogger,
    options: EventBufferOptions = DEFAULT_EVENT_BUFFER,
  ) {
    this.buffer = new WriteBehind<NewAnalyticsEvent>(
      {
        intervalMs: options.flushIntervalMs,
        maxItems: options.batchRows,
        maxPending: options.maxBufferedRows,
        closeTimeoutMs: options.closeTimeoutMs,
        what: 'analytics events',
        write: (batch) => this.insert(batch),
      },
      log,
    )
  }

  /** Events given up: dropped for room during an outage, rejected by the database, or unwritten at close. */
  get dropped(): number {
    return this.buffer.dropped + this.rejected
  }

  /** Events waiting to be written. */
  get pending(): number {
    return this.buffer.pending
  }

  add(row: NewAnalyticsEvent): void {
    if (!this.buffer.closed) return this.buffer.add(row)
    // Nothing records after the last request; should something, it is written at once.
    this.insert([row]).catch((err: unknown) =>
      this.log.warn(
        { err: err instanceof PartialWriteError ? err.cause : err },
        'could not write an analytics event after close',
      ),
    )
  }

  /**
   * Writes every event added before this call (after a write already under way). Rejects when
   * the database refuses; the events stay buffered for the next attempt.
   */
  flush(): Promise<void> {
    return this.buffer.flush()
  }

  /** Stops the timer and writes what is left, retrying for up to `closeTimeoutMs`. */
  close(): Promise<void> {
    return this.buffer.close()
  }

  /** INSERTs `batch`; what the database failed to take (not data errors: those are dropped) is thrown back. */
  private async insert(batch: NewAnalyticsEvent[]): Promise<void> {
    const { unwritten, error } = await this.insertAll(batch)
    if (error) throw new PartialWriteError(error.err, unwritten)
  }

  private async insertAll(
    batch: NewAnalyticsEvent[],
  ): Promise<{ unwritten: NewAnalyticsEvent[]; error?: { err: unknown } }> {
    for (let start = 0; start < batch.length; start += ROWS_PER_STATEMENT) {
      const chunk = batch.slice(start, start + ROWS_PER_STATEMENT)
      try {
        await this.insertStatement(chunk)
      } catch (err) {
        if (!isDataError(err)) return { unwritten: batch.slice(start), error: { err } }
        // One bad row fails the whole statement: write the others one by one.
        const failed = await this.insertOneByOne(chunk)
        if (failed.error)
          return { unwritten: failed.unwritten.concat(batch.slice(start + ROWS_PER_STATEMENT)), error: failed.error }
      }
    }
    return { unwritten: [] }
  }

  private async insertOneByOne(
    rows: NewAnalyticsEvent[],
  ): Promise<{ unwritten: NewAnalyticsEvent[]; error?: { err: unknown } }> {
    for (const [i, row] of rows.entries()) {
      try {
        await this.insertStatement([row])
      } catch (err) {
        if (!isDataError(err)) return { unwritten: rows.slice(i), error: { err } }
        this.rejected++
        this.log.error({ err }, 'the database rejected an analytics event; dropped it')
      }
    }
    return { unwritten: [] }
  }

  /**
   * One INSERT of `rows`, passed as a single JSON array that Postgres unpacks: building and
   * binding five parameters a row costs this process several times more than one string.
   */
  private async insertStatement(rows: NewAnalyticsEvent[]): Promise<void> {
    await this.db
      .insertInto('analytics_events')
      .columns(['type', 'session_id', 'conversation_id', 'data', 'created_at'])
      .expression(
        sql`select type, session_id, conversation_id, data, created_at
              from rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
                     as (type text, session_id uuid, conversation_id uuid, data jsonb, created_at timestamptz))
                   with ordinality as e(type, session_id, conversation_id, data, created_at, n)
             order by n`,
      )
      .execute()
  }
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): the rows themselves are wrong. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code)
}
