import type { IndexColumn } from './maintenance-sql.js'

export interface RequiredIndex {
  name: string
  table: string
  columns: IndexColumn[]
}

/**
 * Indexes the application's queries depend on (keyset pagination, retention scans). The
 * migrations create them; index-maintenance recreates any that went missing (dropped by hand,
 * lost in a restore). Unique indexes are left out on purpose: rebuilding one could fail on
 * duplicates that crept in while it was gone, and they belong to constraints anyway.
 */
export const REQUIRED_INDEXES: RequiredIndex[] = [
  {
    name: 'conversations_session_updated_idx',
    table: 'conversations',
    columns: [{ column: 'session_id' }, { column: 'updated_at', descending: true }, { column: 'id', descending: true }],
  },
  {
    name: 'messages_conversation_id_idx',
    table: 'messages',
    columns: [{ column: 'conversation_id' }, { column: 'id' }],
  },
  {
    name: 'analytics_events_type_created_idx',
    table: 'analytics_events',
    columns: [{ column: 'type' }, { column: 'created_at' }],
  },
  {
    name: 'audit_log_at_idx',
    table: 'audit_log',
    columns: [
      { column: 'at', descending: true },
      { column: 'id', descending: true },
    ],
  },
  {
    name: 'job_runs_job_started_idx',
    table: 'job_runs',
    columns: [{ column: 'job' }, { column: 'started_at', descending: true }, { column: 'id', descending: true }],
  },
  { name: 'job_runs_started_idx', table: 'job_runs', columns: [{ column: 'started_at' }] },
]
