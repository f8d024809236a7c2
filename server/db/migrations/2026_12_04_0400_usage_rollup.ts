import { sql, type Kysely } from 'kysely'

// Frozen once landed: later changes go in a new migration.
export async function up(db: Kysely<any>): Promise<void> {
  // Chat usage rolled up per scope × token × model × hour: one row a combination, added to in
  // batches (never a row per request). cost is null while none of the row's requests had a price.
  await db.schema
    .createTable('usage_rollup')
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('token_id', 'text', (c) => c.notNull())
    .addColumn('project', 'text')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('hour', 'timestamptz', (c) => c.notNull())
    .addColumn('requests', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('cached_requests', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('prompt_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('completion_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('cost', sql`double precision`)
    .addPrimaryKeyConstraint('usage_rollup_pkey', ['scope', 'token_id', 'model', 'hour'])
    .execute()
  await db.schema.createIndex('usage_rollup_hour_idx').on('usage_rollup').column('hour').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('usage_rollup').ifExists().execute()
}
