import { sql, type Kysely } from 'kysely'

// Frozen once landed: later changes go in a new migration.
export async function up(db: Kysely<any>): Promise<void> {
  // One-off (starts_at/ends_at) or recurring (cron + duration_ms in timezone); never both.
  await db.schema
    .createTable('maintenance_windows')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('matchers', 'jsonb', (c) => c.notNull())
    .addColumn('comment', 'text', (c) => c.notNull())
    .addColumn('starts_at', 'timestamptz')
    .addColumn('ends_at', 'timestamptz')
    .addColumn('cron', 'text')
    .addColumn('duration_ms', 'bigint')
    .addColumn('timezone', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint(
      'maintenance_windows_kind_check',
      sql`(cron is null and starts_at is not null and ends_at is not null) or (cron is not null and duration_ms is not null and timezone is not null and starts_at is null and ends_at is null)`,
    )
    .execute()

  // A notification a window held back is kept in the log as 'suppressed', naming the window
  // (no foreign key: the record outlives a deleted window).
  await db.schema.alterTable('notification_outbox').addColumn('window_id', 'uuid').execute()
  await sql`alter table notification_outbox drop constraint if exists notification_outbox_status_check`.execute(db)
  await sql`alter table notification_outbox add constraint notification_outbox_status_check check (status in ('pending', 'delivered', 'failed', 'suppressed'))`.execute(
    db,
  )
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from notification_outbox where status = 'suppressed'`.execute(db)
  await sql`alter table notification_outbox drop constraint if exists notification_outbox_status_check`.execute(db)
  await sql`alter table notification_outbox add constraint notification_outbox_status_check check (status in ('pending', 'delivered', 'failed'))`.execute(
    db,
  )
  await db.schema.alterTable('notification_outbox').dropColumn('window_id').execute()
  await db.schema.dropTable('maintenance_windows').ifExists().execute()
}
