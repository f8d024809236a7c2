import { sql, type Kysely } from 'kysely'
import type { Conversation, Database } from '../../db/schema.js'
import { badRequest } from '../../errors.js'
import { restricts, type ScopeFilter } from './scope.js'

export interface ConversationPatch {
  title?: string | null
  model?: string | null
  metadata?: Record<string, unknown>
}

export interface ConversationPage {
  conversations: Conversation[]
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: string | null
}

/**
 * The cursor carries the last row's exact updated_at (microseconds, as Postgres keeps it) and
 * id, so a page boundary never skips or repeats rows, even when a row moves in between.
 */
const CURSOR_PATTERN = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6})\|([0-9a-f-]{36})$/

export function encodeCursor(updatedAt: string, id: string): string {
  return Buffer.from(`${updatedAt}|${id}`).toString('base64url')
}

export function decodeCursor(cursor: string): { updatedAt: string; id: string } {
  const match = CURSOR_PATTERN.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!match) throw badRequest('cursor is not one this API handed out', 'invalid_cursor')
  return { updatedAt: match[1]!, id: match[2]! }
}

export class ConversationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** In its session's scope (`scope`: the session's, so a conversation never leaves it). */
  async create(input: {
    session_id: string
    scope: string | null
    title?: string | null
    model?: string | null
    metadata?: Record<string, unknown>
  }): Promise<Conversation> {
    return this.db
      .insertInto('conversations')
      .values({
        session_id: input.session_id,
        scope: input.scope,
        title: input.title ?? null,
        model: input.model ?? null,
        metadata: JSON.stringify(input.metadata ?? {}),
      })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  /** The conversations active most recently since `since` (cache-warm preloads them). */
  async recentlyActive(since: Date, limit: number): Promise<Conversation[]> {
    return this.db
      .selectFrom('conversations')
      .selectAll()
      .where('updated_at', '>=', since)
      .orderBy('updated_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute()
  }

  /** The conversation, if `visible` may see it (another scope's is as absent as a missing one). */
  async findById(id: string, visible: ScopeFilter): Promise<Conversation | undefined> {
    return this.db
      .selectFrom('conversations')
      .selectAll()
      .where('id', '=', id)
      .$if(restricts(visible), (qb) => qb.where('scope', '=', visible))
      .executeTakeFirst()
  }

  /** Newest activity first, keyset-paginated on (updated_at, id): `visible`'s, of one session or all. */
  async list(
    visible: ScopeFilter,
    options: { sessionId?: string; limit: number; cursor?: string },
  ): Promise<ConversationPage> {
    let query = this.db
      .selectFrom('conversations')
      .selectAll()
      .select(sql<string>`to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`.as('cursor_at'))
      .$if(restricts(visible), (qb) => qb.where('scope', '=', visible))
      .$if(options.sessionId !== undefined, (qb) => qb.where('session_id', '=', options.sessionId!))
      .orderBy('updated_at', 'desc')
      .orderBy('id', 'desc')
      .limit(options.limit)
    if (options.cursor) {
      const { updatedAt, id } = decodeCursor(options.cursor)
      query = query.where(sql<boolean>`(updated_at, id) < (${updatedAt}::timestamp at time zone 'UTC', ${id}::uuid)`)
    }
    const rows = await query.execute()
    const last = rows.at(-1)
    return {
      conversations: rows.map(({ cursor_at: _, ...row }) => row),
      next_cursor: rows.length === options.limit && last ? encodeCursor(last.cursor_at, last.id) : null,
    }
  }

  async update(
    id: string,
    patch: ConversationPatch,
    now: Date,
    visible: ScopeFilter,
  ): Promise<Conversation | undefined> {
    return this.db
      .updateTable('conversations')
      .set({
        ...(patch.title !== undefined ? { title: patch.title } : {}),
        ...(patch.model !== undefined ? { model: patch.model } : {}),
        ...(patch.metadata !== undefined ? { metadata: JSON.stringify(patch.metadata) } : {}),
        updated_at: now,
      })
      .where('id', '=', id)
      .$if(restricts(visible), (qb) => qb.where('scope', '=', visible))
      .returningAll()
      .executeTakeFirst()
  }

  async delete(id: string, visible: ScopeFilter): Promise<boolean> {
    const result = await this.db
      .deleteFrom('conversations')
      .where('id', '=', id)
      .$if(restricts(visible), (qb) => qb.where('scope', '=', visible))
      .executeTakeFirst()
    return result.numDeletedRows > 0n
  }

  async touch(id: string, now: Date): Promise<void> {
    await this.db.updateTable('conversations').set({ updated_at: now }).where('id', '=', id).execute()
  }
}
