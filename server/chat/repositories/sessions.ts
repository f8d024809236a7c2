import type { Kysely } from 'kysely'
import type { Database, Session } from '../../db/schema.js'
import { restricts, type ScopeFilter } from './scope.js'

export class SessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** A session owned by `scope` (the creator's). */
  async create(
    input: { user_ref?: string | null; metadata?: Record<string, unknown> },
    scope: string,
  ): Promise<Session> {
    return this.db
      .insertInto('sessions')
      .values({ user_ref: input.user_ref ?? null, metadata: JSON.stringify(input.metadata ?? {}), scope })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  /** The session, if `visible` may see it (another scope's is as absent as a missing one). */
  async findById(id: string, visible: ScopeFilter): Promise<Session | undefined> {
    return this.db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', id)
      .$if(restricts(visible), (qb) => qb.where('scope', '=', visible))
      .executeTakeFirst()
  }

  async touch(id: string, now: Date): Promise<void> {
    await this.db.updateTable('sessions').set({ last_active_at: now }).where('id', '=', id).execute()
  }
}
