import { sql, type Kysely } from 'kysely'

// Frozen once landed: later changes go in a new migration.
export async function up(db: Kysely<any>): Promise<void> {
  // A project's own limits ({ rpm?, tpm?, concurrency? }, shared by all its tokens) and budget
  // ({ tokens?, cost?, period }, counting the whole project's spend). Projects without a row
  // have neither; tokens name their project by this name (api_tokens.project, no foreign key:
  // a project exists as soon as a token names it).
  await db.schema
    .createTable('projects')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('limits', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('budget', 'jsonb')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_by', 'text')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('projects').ifExists().execute()
}
