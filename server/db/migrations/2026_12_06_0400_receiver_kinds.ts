import { sql, type Kysely } from 'kysely'

/**
 * Receiver kinds beyond webhooks and Alertmanagers (email, PagerDuty, Teams, Discord,
 * Telegram), their settings and write-only credential, a fallback receiver, and the mark on
 * a fallback's notification.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table alert_receivers drop constraint if exists alert_receivers_kind_check`.execute(db)
  await sql`alter table alert_receivers add constraint alert_receivers_kind_check check (kind in ('webhook', 'alertmanager', 'email', 'pagerduty', 'teams', 'discord', 'telegram'))`.execute(
    db,
  )
  await db.schema
    .alterTable('alert_receivers')
    .addColumn('settings', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('credential', 'text')
    .addColumn('fallback_id', 'uuid', (c) => c.references('alert_receivers.id').onDelete('set null'))
    .execute()
  await db.schema
    .alterTable('notification_outbox')
    .addColumn('fallback_for', 'bigint', (c) => c.references('notification_outbox.id').onDelete('set null'))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notification_outbox').dropColumn('fallback_for').execute()
  await db.schema
    .alterTable('alert_receivers')
    .dropColumn('fallback_id')
    .dropColumn('credential')
    .dropColumn('settings')
    .execute()
  await sql`alter table alert_receivers drop constraint if exists alert_receivers_kind_check`.execute(db)
  await sql`alter table alert_receivers add constraint alert_receivers_kind_check check (kind in ('webhook', 'alertmanager'))`.execute(
    db,
  )
}
