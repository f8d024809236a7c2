import { sql, type Kysely } from 'kysely'

// Frozen once landed: later changes go in a new migration.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('job_runs')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('job', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull().check(sql`trigger in ('schedule', 'manual', 'catch-up')`))
    .addColumn('instance', 'text', (c) => c.notNull())
    // Scheduled and catch-up runs carry the occurrence they were started for: the unique
    // index below lets exactly one instance claim each occurrence.
    .addColumn('occurrence_key', 'text')
    .addColumn('params', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('running', 'success', 'failed', 'timeout', 'skipped')`),
    )
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('duration_ms', 'integer')
    .addColumn('error', 'text')
    .addColumn('output', 'jsonb')
    .execute()
  await db.schema
    .createIndex('job_runs_job_occurrence_key')
    .unique()
    .on('job_runs')
    .columns(['job', 'occurrence_key'])
    .execute()
  await db.schema
    .createIndex('job_runs_job_started_idx')
    .on('job_runs')
    .columns(['job', 'started_at desc', 'id desc'])
    .execute()
  await db.schema.createIndex('job_runs_started_idx').on('job_runs').column('started_at').execute()
  // Runs in progress are few among many finished ones: "what is running" reads only these.
  await db.schema
    .createIndex('job_runs_running_idx')
    .on('job_runs')
    .column('job')
    .where(sql.ref('status'), '=', 'running')
    .execute()

  await db.schema
    .createTable('job_settings')
    .addColumn('job', 'text', (c) => c.primaryKey())
    .addColumn('paused', 'boolean', (c) => c.notNull().defaultTo(false))
    // Set through the API; null = the schedule from JOB_<NAME>_SCHEDULE or the default.
    .addColumn('schedule', 'text')
    .addColumn('updated_by', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('job_settings').ifExists().execute()
  await db.schema.dropTable('job_runs').ifExists().execute()
}
