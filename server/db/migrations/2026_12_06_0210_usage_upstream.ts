import { sql, type Kysely } from 'kysely'

// Frozen once landed: later changes go in a new migration.
export async function up(db: Kysely<any>): Promise<void> {
  // Which pool upstream answered: one rollup row per upstream too ('' = from the cache, or rows
  // from before the pool).
  await db.schema
    .alterTable('usage_rollup')
    .addColumn('upstream', 'text', (c) => c.notNull().defaultTo(''))
    .execute()
  await sql`alter table usage_rollup drop constraint usage_rollup_pkey`.execute(db)
  await sql`alter table usage_rollup add constraint usage_rollup_pkey primary key (scope, token_id, model, upstream, hour)`.execute(
    db,
  )
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from usage_rollup where upstream <> ''`.execute(db)
  await sql`alter table usage_rollup drop constraint usage_rollup_pkey`.execute(db)
  await sql`alter table usage_rollup add constraint usage_rollup_pkey primary key (scope, token_id, model, hour)`.execute(
    db,
  )
  await db.schema.alterTable('usage_rollup').dropColumn('upstream').execute()
}
