import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import type { Database } from '../../../server/db/schema.js'
import { queryLabels } from '../../../server/metrics/query-labels.js'

// Compiles queries without a connection: the labels come from the operation tree alone.
const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
})

describe('queryLabels', () => {
  it('takes query_type from the root node and table from from/into/table', () => {
    expect(queryLabels(db.selectFrom('messages').selectAll().compile().query)).toEqual({
      query_type: 'select',
      table: 'messages',
    })
    expect(
      queryLabels(
        db
          .insertInto('audit_log')
          .values({ action: 'x' } as never)
          .compile().query,
      ),
    ).toEqual({ query_type: 'insert', table: 'audit_log' })
    expect(queryLabels(db.updateTable('api_tokens').set({ name: 'n' }).where('id', '=', 'x').compile().query)).toEqual({
      query_type: 'update',
      table: 'api_tokens',
    })
    expect(queryLabels(db.deleteFrom('sessions').where('id', '=', 'x').compile().query)).toEqual({
      query_type: 'delete',
      table: 'sessions',
    })
  })

  it('sees through aliases, schemas and joins to the main table', () => {
    const aliased = db
      .selectFrom('conversations as c')
      .innerJoin('messages as m', 'm.conversation_id', 'c.id')
      .select('c.id')
    expect(queryLabels(aliased.compile().query)).toEqual({ query_type: 'select', table: 'conversations' })
    const schemed = db.withSchema('tenant_a').selectFrom('job_runs').selectAll()
    expect(queryLabels(schemed.compile().query)).toEqual({ query_type: 'select', table: 'job_runs' })
    // UPDATE ... FROM: the updated table is the label, not the joined source.
    const updateFrom = db
      .updateTable('conversations')
      .from('sessions')
      .set({ title: 't' } as never)
      .whereRef('conversations.session_id', '=', 'sessions.id')
    expect(queryLabels(updateFrom.compile().query)).toEqual({ query_type: 'update', table: 'conversations' })
  })

  it('labels raw SQL and table-less selects without reading the SQL text', () => {
    expect(queryLabels(sql`delete from messages where id = ${1}`.compile(db).query)).toEqual({
      query_type: 'other',
      table: 'raw',
    })
    expect(queryLabels(db.selectNoFrom(sql<number>`1`.as('one')).compile().query)).toEqual({
      query_type: 'select',
      table: 'none',
    })
  })

  it('calls DDL "other" and still names its table', () => {
    expect(queryLabels(db.schema.createTable('x_tbl').addColumn('id', 'integer').compile().query)).toEqual({
      query_type: 'other',
      table: 'x_tbl',
    })
  })
})
