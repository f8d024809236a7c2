import { sql, type Kysely } from 'kysely'

// Frozen once landed: later changes go in a new migration.
export async function up(db: Kysely<any>): Promise<void> {
  // What a token may do beyond its role: the project whose data it shares (null: its own),
  // when it stops working, its limits ({ rpm?, tpm?, concurrency? }) and budget
  // ({ tokens?, cost?, period }).
  await db.schema
    .alterTable('api_tokens')
    .addColumn('project', 'text')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('limits', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('budget', 'jsonb')
    .execute()
  await db.schema.createIndex('api_tokens_project_idx').on('api_tokens').column('project').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('api_tokens_project_idx').ifExists().execute()
  await db.schema
    .alterTable('api_tokens')
    .dropColumn('budget')
    .dropColumn('limits')
    .dropColumn('expires_at')
    .dropColumn('project')
    .execute()
}
