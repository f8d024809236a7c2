import type { Kysely, Selectable } from 'kysely'
import type { LabelMatcher } from '../../../alerts/labels.js'
import type { Silence } from '../../../alerts/silence.js'
import type { Database, SilencesTable } from '../../db/schema.js'

export type SilenceRow = Selectable<SilencesTable>
export type SilenceStatus = 'pending' | 'active' | 'expired'

export interface SilenceInput {
  matchers: LabelMatcher[]
  startsAt: Date
  endsAt: Date
  comment: string
}

export function silenceStatus(row: Pick<SilenceRow, 'starts_at' | 'ends_at'>, now: number): SilenceStatus {
  if (row.ends_at.getTime() <= now) return 'expired'
  return row.starts_at.getTime() > now ? 'pending' : 'active'
}

export function toEngineSilence(row: SilenceRow): Silence {
  return { id: row.id, matchers: row.matchers, startsAt: row.starts_at.getTime(), endsAt: row.ends_at.getTime() }
}

/** The silences table. Deleting a silence expires it (ends it now) so that its history stays. */
export class SilenceStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Newest first; by status when asked. */
  async list(options: { status?: SilenceStatus; now: number; limit: number }): Promise<SilenceRow[]> {
    const now = new Date(options.now)
    let query = this.db
      .selectFrom('silences')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(options.limit)
    if (options.status === 'expired') query = query.where('ends_at', '<=', now)
    if (options.status === 'active') query = query.where('ends_at', '>', now).where('starts_at', '<=', now)
    if (options.status === 'pending') query = query.where('starts_at', '>', now)
    return query.execute()
  }

  /** Silences not yet over at `now` (the engine checks their start itself). */
  async current(now: number): Promise<Silence[]> {
    const rows = await this.db.selectFrom('silences').selectAll().where('ends_at', '>', new Date(now)).execute()
    return rows.map(toEngineSilence)
  }

  async get(id: string): Promise<SilenceRow | null> {
    return (await this.db.selectFrom('silences').selectAll().where('id', '=', id).executeTakeFirst()) ?? null
  }

  async create(input: SilenceInput & { createdBy: string }): Promise<SilenceRow> {
    return this.db
      .insertInto('silences')
      .values({
        matchers: JSON.stringify(input.matchers),
        starts_at: input.startsAt,
        ends_at: input.endsAt,
        comment: input.comment,
        created_by: input.createdBy,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async update(id: string, input: SilenceInput): Promise<SilenceRow | null> {
    const row = await this.db
      .updateTable('silences')
      .set({
        matchers: JSON.stringify(input.matchers),
        starts_at: input.startsAt,
        ends_at: input.endsAt,
        comment: input.comment,
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
    return row ?? null
  }

  /** Ends the silence at `now` unless it already ended. */
  async expire(id: string, now: number): Promise<SilenceRow | null> {
    const at = new Date(now)
    await this.db
      .updateTable('silences')
      .set({ ends_at: at, updated_at: at })
      .where('id', '=', id)
      .where('ends_at', '>', at)
      .execute()
    return this.get(id)
  }
}
