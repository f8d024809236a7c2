import type { Kysely } from 'kysely'

// Frozen once landed: later changes go in a new migration.
export async function up(db: Kysely<any>): Promise<void> {
  // Whose chat data a row is: `project:<name>` or `token:<id>` (server/auth/access.ts scopeOf).
  // Messages follow their conversation. Rows from before tenancy keep scope null: they belong
  // to no caller, so only admin tokens (which see every scope) still reach them.
  await db.schema.alterTable('sessions').addColumn('scope', 'text').execute()
  await db.schema.alterTable('conversations').addColumn('scope', 'text').execute()
  // A scope's conversations, most recently active first (GET /api/conversations without a session).
  await db.schema
    .createIndex('conversations_scope_updated_idx')
    .on('conversations')
    .columns(['scope', 'updated_at desc', 'id desc'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('conversations_scope_updated_idx').ifExists().execute()
  await db.schema.alterTable('conversations').dropColumn('scope').execute()
  await db.schema.alterTable('sessions').dropColumn('scope').execute()
}
