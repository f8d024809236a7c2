import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.js'

export interface ChatDataStats {
  sessions: number
  conversations: number
  messages: number
  analytics_events: number
  /** pg_database_size of the whole database. */
  database_bytes: number
  database_size: string
  /** Our schema's tables with their indexes and TOAST. */
  schema_bytes: number
}

/** Counts and sizes for `GET /api/db/stats` (old rows are purged by the retention job, server/insights/maintenance). */
export class ChatMaintenanceRepository {
  constructor(
    private readonly db: Kysely<Database>,
    /** Runs before the counts are read (writes buffered analytics events). */
    private readonly beforeStats: () => Promise<void> = async () => {},
  ) {}

  async stats(): Promise<ChatDataStats> {
    await this.beforeStats()
    const { rows } = await sql<Record<keyof ChatDataStats, string>>`
      select
        (select count(*) from sessions) as sessions,
        (select count(*) from conversations) as conversations,
        (select count(*) from messages) as messages,
        (select count(*) from analytics_events) as analytics_events,
        pg_database_size(current_database()) as database_bytes,
        pg_size_pretty(pg_database_size(current_database())) as database_size,
        (select coalesce(sum(pg_total_relation_size(c.oid)), 0)
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = current_schema() and c.relkind in ('r', 'p')) as schema_bytes
    `.execute(this.db)
    const row = rows[0]!
    return {
      sessions: Number(row.sessions),
      conversations: Number(row.conversations),
      messages: Number(row.messages),
      analytics_events: Number(row.analytics_events),
      database_bytes: Number(row.database_bytes),
      database_size: row.database_size,
      schema_bytes: Number(row.schema_bytes),
    }
  }
}
