import type { Kysely } from 'kysely'
import type { Conversation, Database } from '../../db/schema.js'

/** The conversations active most recently since `since` (cache-warm preloads them). */
export async function recentConversations(db: Kysely<Database>, since: Date, limit: number): Promise<Conversation[]> {
  return db
    .selectFrom('conversations')
    .selectAll()
    .where('updated_at', '>=', since)
    .orderBy('updated_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
}
