import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Database } from '../../db/schema.js'

/**
 * The maintenance statements. Names come from the catalog and go through `sql.id`, which
 * quotes them (doubling any embedded double quote): a table called `a"; drop table x; --` is
 * just an odd name. Run on a maintenance session, one statement at a time, outside
 * transactions.
 */
export const vacuumAnalyze = (schema: string, table: string): RawBuilder<unknown> =>
  sql`vacuum (analyze) ${sql.id(schema, table)}`

export const analyze = (schema: string, table: string): RawBuilder<unknown> => sql`analyze ${sql.id(schema, table)}`

export const reindexConcurrently = (schema: string, index: string): RawBuilder<unknown> =>
  sql`reindex index concurrently ${sql.id(schema, index)}`

export interface IndexColumn {
  column: string
  descending?: boolean
}

export const createIndexConcurrently = (
  schema: string,
  index: string,
  table: string,
  columns: IndexColumn[],
): RawBuilder<unknown> =>
  sql`create index concurrently if not exists ${sql.id(index)} on ${sql.id(schema, table)} (${sql.join(
    columns.map((c) => (c.descending ? sql`${sql.id(c.column)} desc` : sql.id(c.column))),
  )})`

export interface StatementResult {
  durationMs: number
  error: string | null
  /** The failure may pass on its own (lock timeout, statement timeout or cancel, deadlock): worth another attempt. */
  transient: boolean
}

const TRANSIENT_SQLSTATES = new Set(['55P03', '57014', '40P01'])

/** Runs one statement and times it; the error (lock timeout, cancel) comes back as a message. */
export async function timed(db: Kysely<Database>, statement: RawBuilder<unknown>): Promise<StatementResult> {
  const started = performance.now()
  try {
    await statement.execute(db)
    return { durationMs: Math.round(performance.now() - started), error: null, transient: false }
  } catch (err) {
    const code = (err as { code?: string }).code
    return {
      durationMs: Math.round(performance.now() - started),
      error: err instanceof Error ? err.message : String(err),
      transient: code !== undefined && TRANSIENT_SQLSTATES.has(code),
    }
  }
}
