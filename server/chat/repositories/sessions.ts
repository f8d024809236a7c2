import type { Kysely } from 'kysely'
import type { Database, Session } from '../../db/schema.js'

export class SessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(input: { user_ref?: string | null; metadata?: Record<string, unknown> }): Promise<Session> {
    return this.db
      .insertInto('sessions')
      .values({ user_ref: input.user_ref ?? null, metadata: JSON.stringify(input.metadata ?? {}) })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async findById(id: string): Promise<Session | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst()
  }

  async touch(id: string, now: Date): Promise<void> {
    await this.db.updateTable('sessions').set({ last_active_at: now }).where('id', '=', id).execute()
  }
}
