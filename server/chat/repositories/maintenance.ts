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

export interface RetentionPolicy {
  /** analytics_events older than this go. */
  analyticsEventsMaxAgeMs: number
  /** Sessions with no activity for this long go, with their conversations and messages. */
  idleSessionMaxAgeMs: number
}

/** Rows per DELETE: short statements keep locks and WAL bursts small on big tables. */
const PURGE_BATCH = 5_000

/** Counts and sizes for `GET /api/db/stats`, and the purge the retention job runs. */
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

  /** Deletes, in batches, analytics events and idle sessions older than the policy allows at `now`. */
  async purgeOlderThan(now: Date, policy: RetentionPolicy): Promise<{ analytics_events: number; sessions: number }> {
    const eventsBefore = new Date(now.getTime() - policy.analyticsEventsMaxAgeMs)
    const idleBefore = new Date(now.getTime() - policy.idleSessionMaxAgeMs)
    const analytics_events = await this.inBatches((limit) =>
      this.db
        .deleteFrom('analytics_events')
        .where('id', 'in', (qb) =>
          qb.selectFrom('analytics_events').select('id').where('created_at', '<', eventsBefore).limit(limit),
        )
        .executeTakeFirst(),
    )
    const sessions = await this.inBatches((limit) =>
      this.db
        .deleteFrom('sessions')
        .where('id', 'in', (qb) =>
          qb.selectFrom('sessions').select('id').where('last_active_at', '<', idleBefore).limit(limit),
        )
        .executeTakeFirst(),
    )
    return { analytics_events, sessions }
  }

  private async inBatches(deleteBatch: (limit: number) => Promise<{ numDeletedRows: bigint }>): Promise<number> {
    let total = 0
    for (;;) {
      const deleted = Number((await deleteBatch(PURGE_BATCH)).numDeletedRows)
      total += deleted
      if (deleted < PURGE_BATCH) return total
    }
  }
}
