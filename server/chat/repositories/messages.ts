import type { Insertable, Kysely } from 'kysely'
import type { Database, Message, MessageRole, MessagesTable } from '../../db/schema.js'

export type NewMessage = Insertable<MessagesTable>

export interface ImportedMessage {
  role: MessageRole
  content: string
  model?: string | null
  created_at?: string
}

export class MessageRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(message: NewMessage): Promise<Message> {
    return this.db.insertInto('messages').values(message).returningAll().executeTakeFirstOrThrow()
  }

  /** One message of a conversation (undefined when the id is another conversation's or gone). */
  async find(conversationId: string, id: string): Promise<Message | undefined> {
    return this.db
      .selectFrom('messages')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .where('id', '=', id)
      .executeTakeFirst()
  }

  /** One INSERT for the whole batch; ids follow the batch order. */
  async insertMany(
    conversationId: string,
    messages: ImportedMessage[],
  ): Promise<{ inserted: number; first_id: string | null; last_id: string | null }> {
    if (messages.length === 0) return { inserted: 0, first_id: null, last_id: null }
    const rows = await this.db
      .insertInto('messages')
      .values(
        messages.map((m) => ({
          conversation_id: conversationId,
          role: m.role,
          content: m.content,
          model: m.model ?? null,
          ...(m.created_at ? { created_at: m.created_at } : {}),
        })),
      )
      .returning('id')
      .execute()
    const ids = rows.map((r) => BigInt(r.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    return { inserted: rows.length, first_id: String(ids[0]), last_id: String(ids.at(-1)) }
  }

  /** Newest first, keyset on id: pass the last id of a page as `before` for the next. */
  async list(conversationId: string, options: { limit: number; before?: string }): Promise<Message[]> {
    let query = this.db
      .selectFrom('messages')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .orderBy('id', 'desc')
      .limit(options.limit)
    if (options.before) query = query.where('id', '<', options.before)
    return query.execute()
  }

  /** The last `count` messages, oldest first: the history sent with a new message. */
  async recent(conversationId: string, count: number): Promise<Message[]> {
    const rows = await this.list(conversationId, { limit: count })
    return rows.reverse()
  }
}
