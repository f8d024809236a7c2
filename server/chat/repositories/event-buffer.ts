import type { FastifyBaseLogger } from 'fastify'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.js'

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
const FAILURE_LOG_INTERVAL_MS = 10_000
const CLOSE_RETRY_MS = 200

/**
 * Write-behind for analytics_events: the request path appends in memory and returns; the
 * events are written in multi-row INSERTs every `flushIntervalMs` (or as soon as a batch is
 * full). Readers that need what this instance recorded call `flush()` first; `close()` (on
 * shutdown, after the last request) writes everything still waiting. A write that fails
 * keeps its events for the next attempt, except data errors, which no retry would fix.
 */
export class AnalyticsEventBuffer {
  private rows: NewAnalyticsEvent[] = []
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> | undefined
  private closed = false
  private lastFailureLoggedAt = 0
  /** Events given up: dropped for room during an outage, rejected by the database, or unwritten at close. */
  dropped = 0

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: FastifyBaseLogger,
    private readonly options: EventBufferOptions = DEFAULT_EVENT_BUFFER,
  ) {}

  /** Events waiting to be written. */
  get pending(): number {
    return this.rows.length
  }

  add(row: NewAnalyticsEvent): void {
    if (this.closed) {
      // Nothing records after the last request; should something, it is written at once.
      void this.insert([row]).then(
        ({ error }) => error && this.logFailure(error.err, 'could not write an analytics event after close'),
      )
      return
    }
    this.rows.push(row)
    if (this.rows.length > this.options.maxBufferedRows) {
      const excess = this.rows.length - this.options.maxBufferedRows
      this.rows.splice(0, excess)
      this.dropped += excess
      this.logFailure(
        undefined,
        `analytics buffer full while the database is not taking events; dropped the ${excess} oldest`,
      )
    }
    if (this.rows.length >= this.options.batchRows) this.startWrite()
    else this.schedule()
  }

  /**
   * Writes every event added before this call (after a write already under way). Rejects when
   * the database refuses; the events stay buffered for the next attempt.
   */
  async flush(): Promise<void> {
    while (this.writing) await this.writing.catch(() => {})
    if (this.rows.length) await this.write()
  }

  /** Stops the timer and writes what is left, retrying for up to `closeTimeoutMs`. */
  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    this.timer = undefined
    const deadline = Date.now() + this.options.closeTimeoutMs
    for (;;) {
      try {
        await this.flush()
        return
      } catch (err) {
        if (Date.now() + CLOSE_RETRY_MS >= deadline) {
          this.dropped += this.rows.length
          this.log.error(
            { err, events: this.rows.length },
            'could not write the buffered analytics events before shutting down; they are lost',
          )
          this.rows = []
          return
        }
        await new Promise((resolve) => setTimeout(resolve, CLOSE_RETRY_MS))
      }
    }
  }

  private schedule(): void {
    if (!this.closed) this.timer ??= setTimeout(() => this.startWrite(), this.options.flushIntervalMs).unref()
  }

  /** Background write: a failure is logged, and its events wait for the next interval. */
  private startWrite(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.writing || this.rows.length === 0) return
    this.write().catch((err) => this.logFailure(err, 'could not write analytics events; will retry'))
  }

  private write(): Promise<void> {
    const batch = this.rows
    this.rows = []
    const writing = this.insert(batch).then(({ unwritten, error }) => {
      this.writing = undefined
      // Failed events go back ahead of those that arrived meanwhile, oldest first.
      if (unwritten.length) this.rows = unwritten.concat(this.rows)
      if (this.rows.length >= this.options.batchRows && !error) setImmediate(() => this.startWrite())
      else if (this.rows.length) this.schedule()
      if (error) throw error.err
    })
    this.writing = writing
    return writing
  }

  /** INSERTs `batch`; what the database failed to take (not data errors: those are dropped) comes back. */
  private async insert(
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
        this.dropped++
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

  private logFailure(err: unknown, message: string): void {
    const now = Date.now()
    if (now - this.lastFailureLoggedAt < FAILURE_LOG_INTERVAL_MS) return
    this.lastFailureLoggedAt = now
    this.log.warn({ err, pending: this.rows.length, dropped: this.dropped }, message)
  }
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): the rows themselves are wrong. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code)
}
