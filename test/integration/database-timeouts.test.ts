import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { QUERY_READ_MARGIN_MS } from '../../server/infra/db/connect.js'
import { withMaintenanceSession } from '../../server/insights/maintenance/session.js'
import { createTestApp, real, type TestApp } from '../helpers/app.js'

/**
 * The pool gives up on a query the server has not answered within statement_timeout +
 * QUERY_READ_MARGIN_MS (a cut network is silent); a maintenance session, which allows longer
 * statements, must not be cut off by that read timeout.
 */
describe.runIf(real?.databaseUrl)('database read timeouts (postgres)', () => {
  const STATEMENT_TIMEOUT_MS = 300
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp(
      { ...real!, redisUrl: undefined },
      { env: { DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS) } },
    )
  })
  afterAll(async () => t?.close())

  const sleepLongerThanTheReadTimeout = (db: TestApp['app']['db']) =>
    sql`select pg_sleep(${(STATEMENT_TIMEOUT_MS + QUERY_READ_MARGIN_MS + 700) / 1000})`.execute(db)

  it('lets a maintenance session run statements longer than the pool read timeout', async () => {
    const result = await withMaintenanceSession(
      t.app.database,
      { lockTimeoutMs: 1_000, statementTimeoutMs: 10_000 },
      new AbortController().signal,
      (session) => sleepLongerThanTheReadTimeout(session.db),
    )
    expect(result.rows).toHaveLength(1)
    // Afterwards the connection is the pool's again: its statement timeout applies.
    await expect(sleepLongerThanTheReadTimeout(t.app.db)).rejects.toThrow(/statement timeout/)
    expect((await sql<{ one: number }>`select 1 as one`.execute(t.app.db)).rows).toEqual([{ one: 1 }])
  })
})
