import { sql, type Kysely } from 'kysely'

// Frozen once landed: later changes go in a new migration.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('alert_rules')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('definition', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  // Current state of every pending or firing alert (one row per rule + label set).
  await db.schema
    .createTable('alert_states')
    .addColumn('fingerprint', 'text', (c) => c.primaryKey())
    .addColumn('rule_name', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('labels', 'jsonb', (c) => c.notNull())
    .addColumn('annotations', 'jsonb', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'firing')`))
    .addColumn('value', 'double precision')
    .addColumn('active_since', 'timestamptz', (c) => c.notNull())
    .addColumn('firing_since', 'timestamptz')
    .addColumn('keep_firing_since', 'timestamptz')
    .addColumn('last_notified_at', 'timestamptz')
    .addColumn('ack_by', 'text')
    .addColumn('ack_at', 'timestamptz')
    .addColumn('ack_comment', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  // History: every transition (and acknowledgement), newest first by id.
  await db.schema
    .createTable('alert_events')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('rule_name', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('from_state', 'text', (c) => c.notNull())
    .addColumn('to_state', 'text', (c) =>
      c.notNull().check(sql`to_state in ('pending', 'firing', 'inactive', 'resolved', 'acknowledged')`),
    )
    .addColumn('value', 'double precision')
    .addColumn('labels', 'jsonb', (c) => c.notNull())
    .addColumn('annotations', 'jsonb', (c) => c.notNull())
    .addColumn('detail', 'jsonb')
    .execute()
  await db.schema.createIndex('alert_events_at_idx').on('alert_events').column('at').execute()
  await db.schema
    .createIndex('alert_events_fingerprint_idx')
    .on('alert_events')
    .columns(['fingerprint', 'id'])
    .execute()
  await db.schema.createIndex('alert_events_rule_idx').on('alert_events').columns(['rule_name', 'id']).execute()

  await db.schema
    .createTable('silences')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('matchers', 'jsonb', (c) => c.notNull())
    .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ends_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('comment', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('silences_ends_at_idx').on('silences').column('ends_at').execute()

  await db.schema
    .createTable('alert_receivers')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('webhook', 'alertmanager')`))
    .addColumn('format', 'text', (c) => c.notNull().check(sql`format in ('alertmanager', 'slack')`))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('secret', 'text')
    .addColumn('severities', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('matchers', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('send_resolved', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('group_by', 'jsonb', (c) => c.notNull().defaultTo(sql`'["alertname"]'::jsonb`))
    .addColumn('group_wait_ms', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('env', 'api')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  // Transactional outbox: written with the alert state, delivered (and retried) by a worker.
  await db.schema
    .createTable('notification_outbox')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('receiver_id', 'uuid', (c) => c.references('alert_receivers.id').onDelete('set null'))
    .addColumn('receiver_name', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('group_key', 'text', (c) => c.notNull())
    .addColumn('alerts', 'jsonb', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'delivered', 'failed')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('last_status_code', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('delivered_at', 'timestamptz')
    .execute()
  await db.schema
    .createIndex('notification_outbox_due_idx')
    .on('notification_outbox')
    .columns(['status', 'next_attempt_at'])
    .execute()
  await db.schema
    .createIndex('notification_outbox_created_idx')
    .on('notification_outbox')
    .column('created_at')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'notification_outbox',
    'alert_receivers',
    'silences',
    'alert_events',
    'alert_states',
    'alert_rules',
  ]) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}
