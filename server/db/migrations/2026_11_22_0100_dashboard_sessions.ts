import { sql, type Kysely } from 'kysely'

// Frozen once landed: later changes go in a new migration.
export async function up(db: Kysely<any>): Promise<void> {
  // Dashboard sign-ins (not the chat API's `sessions`). The cookie carries a random id; only
  // its SHA-256 is stored, so a copy of this table signs nobody in.
  await db.schema
    .createTable('dashboard_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('token_id', 'uuid', (c) => c.notNull().references('api_tokens.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute()
  // Revoking a token ends its sessions; retention deletes the expired ones.
  await db.schema.createIndex('dashboard_sessions_token_idx').on('dashboard_sessions').column('token_id').execute()
  await db.schema.createIndex('dashboard_sessions_expires_idx').on('dashboard_sessions').column('expires_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('dashboard_sessions').ifExists().execute()
}
