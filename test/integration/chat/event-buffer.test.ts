import { randomUUID } from 'node:crypto'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Database } from '../../../server/db/schema.js'
import {
  AnalyticsEventBuffer,
  DEFAULT_EVENT_BUFFER,
  type EventBufferOptions,
  type NewAnalyticsEvent,
} from '../../../server/chat/repositories/event-buffer.js'
import { backends, createTestApp, real, type TestApp } from '../../helpers/app.js'

/** The write-behind buffer of analytics events, on the app's own database (and schema). */
describe.each(backends)('analytics event buffer ($name)', (backend) => {
  let t: TestApp
  const buffers: AnalyticsEventBuffer[] = []
  beforeAll(async () => {
    t = await createTestApp(backend)
  })
  afterAll(async () => {
    for (const buffer of buffers) await buffer.close()
    await t?.close()
  })

  // An interval no test waits for: what reaches the table got there by flush, batch size or close.
  const buffer = (options: Partial<EventBufferOptions> = {}, db: Kysely<Database> = t.app.db) => {
    const b = new AnalyticsEventBuffer(db, t.app.log, { ...DEFAULT_EVENT_BUFFER, flushIntervalMs: 600_000, ...options })
    buffers.push(b)
    return b
  }
  const event = (type: string, i: number, extra: Partial<NewAnalyticsEvent> = {}): NewAnalyticsEvent => ({
    type,
    session_id: null,
    conversation_id: null,
    data: { i, text: `event ${i} with "quotes", a \\ and ünïcödé` },
    created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
    ...extra,
  })
  const stored = (type: string) =>
    t.app.db
      .selectFrom('analytics_events')
      .select(['id', 'data', 'created_at', 'session_id'])
      .where('type', '=', type)
      .orderBy('id')
      .execute()

  it('keeps events in memory until flushed, then writes them in order with their own timestamps', async () => {
    const type = `buffer-${randomUUID()}`
    const b = buffer()
    for (let i = 0; i < 5; i++) b.add(event(type, i))
    expect(b.pending).toBe(5)
    expect(await stored(type)).toEqual([])

    await b.flush()
    expect(b.pending).toBe(0)
    const rows = await stored(type)
    expect(rows.map((r) => r.data)).toEqual([0, 1, 2, 3, 4].map((i) => event(type, i).data))
    expect(rows.map((r) => r.created_at.toISOString())).toEqual(
      [0, 1, 2, 3, 4].map((i) => event(type, i).created_at.toISOString()),
    )
  })

  it('writes a full batch at once, without waiting for the interval', async () => {
    const type = `batch-${randomUUID()}`
    const b = buffer({ batchRows: 10 })
    for (let i = 0; i < 9; i++) b.add(event(type, i))
    expect(b.pending).toBe(9)
    b.add(event(type, 9))
    await vi.waitFor(async () => expect(await stored(type)).toHaveLength(10), { timeout: 10_000, interval: 20 })
  })

  it('writes what is buffered on close, and an event recorded after close at once', async () => {
    const type = `close-${randomUUID()}`
    const b = buffer()
    for (let i = 0; i < 3; i++) b.add(event(type, i))
    await b.close()
    expect(await stored(type)).toHaveLength(3)
    b.add(event(type, 3))
    await vi.waitFor(async () => expect(await stored(type)).toHaveLength(4), { timeout: 10_000, interval: 20 })
  })

  it('drops only the events the database rejects as data, and writes the others', async () => {
    const type = `poison-${randomUUID()}`
    const b = buffer()
    b.add(event(type, 0))
    b.add(event(type, 1, { session_id: 'not-a-uuid' }))
    b.add(event(type, 2))
    await b.flush()
    expect((await stored(type)).map((r) => (r.data as { i: number }).i)).toEqual([0, 2])
    expect(b.dropped).toBe(1)
    expect(b.pending).toBe(0)
  })

  it('makes what this instance recorded readable at once through the repository', async () => {
    const res = await t.chat('read after write')
    expect(res.statusCode).toBe(200)
    const top = await t.app.chat.repos.analytics.topPrompts(new Date(Date.now() - 60_000), 50)
    expect(top.map((p) => p.messages[0]?.content)).toContain('read after write')
    const stats = (await t.request('GET', '/api/db/stats')).json()
    expect(stats.analytics_events).toBeGreaterThan(0)
  })
})

/**
 * A write that fails for a reason that passes (here: the table locked past the buffer's own
 * statement_timeout) keeps its events for the next attempt. Needs a second connection to hold
 * the lock, so a real Postgres; CI has one.
 */
describe.runIf(real?.databaseUrl)('analytics event buffer while the database refuses writes (postgres)', () => {
  let t: TestApp
  let db: Kysely<Database>
  let locker: pg.Client
  beforeAll(async () => {
    t = await createTestApp(real!)
    const pool = new pg.Pool({
      connectionString: real!.databaseUrl,
      max: 2,
      statement_timeout: 300,
      options: `-c search_path=${t.app.database.schema}`,
    })
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    locker = new pg.Client({ connectionString: real!.databaseUrl })
    await locker.connect()
  })
  afterAll(async () => {
    await locker?.end().catch(() => {})
    await db?.destroy()
    await t?.close()
  })

  it('keeps the events of a failed write, oldest first, bounded, and writes them once the database takes them', async () => {
    const type = `outage-${randomUUID()}`
    const b = new AnalyticsEventBuffer(db, t.app.log, {
      ...DEFAULT_EVENT_BUFFER,
      flushIntervalMs: 600_000,
      maxBufferedRows: 6,
      closeTimeoutMs: 200,
    })
    await locker.query('begin')
    await locker.query(`lock table "${t.app.database.schema}".analytics_events in access exclusive mode`)
    try {
      for (let i = 0; i < 4; i++)
        b.add({ type, session_id: null, conversation_id: null, data: { i }, created_at: new Date() })
      await expect(b.flush()).rejects.toThrow(/statement timeout/)
      expect(b.pending).toBe(4)
      // Room for six: the two oldest make way for newer ones, and are counted.
      for (let i = 4; i < 8; i++)
        b.add({ type, session_id: null, conversation_id: null, data: { i }, created_at: new Date() })
      expect(b.pending).toBe(6)
      expect(b.dropped).toBe(2)
    } finally {
      await locker.query('rollback')
    }
    await b.flush()
    const rows = await t.app.db
      .selectFrom('analytics_events')
      .select('data')
      .where('type', '=', type)
      .orderBy('id')
      .execute()
    expect(rows.map((r) => (r.data as { i: number }).i)).toEqual([2, 3, 4, 5, 6, 7])
    await b.close()
  })
})
