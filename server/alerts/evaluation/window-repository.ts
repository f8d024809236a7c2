import type { Kysely, Selectable } from 'kysely'
import type { LabelMatcher } from '../../../alerts/labels.js'
import { windowOver, type MaintenanceWindow } from '../../../alerts/maintenance.js'
import type { Database, MaintenanceWindowsTable } from '../../db/schema.js'

export type WindowRow = Selectable<MaintenanceWindowsTable>

/** What a window is, as stored: one-off (startsAt/endsAt) or recurring (cron, durationMs, timezone). */
export interface WindowInput {
  name: string
  matchers: LabelMatcher[]
  comment: string
  startsAt: Date | null
  endsAt: Date | null
  cron: string | null
  durationMs: number | null
  timezone: string | null
}

export function toEngineWindow(row: WindowRow): MaintenanceWindow {
  if (row.cron !== null)
    return {
      id: row.id,
      matchers: row.matchers,
      cron: row.cron,
      durationMs: Number(row.duration_ms),
      timezone: row.timezone!,
    }
  return { id: row.id, matchers: row.matchers, startsAt: row.starts_at!.getTime(), endsAt: row.ends_at!.getTime() }
}

function columns(input: WindowInput) {
  return {
    name: input.name,
    matchers: JSON.stringify(input.matchers),
    comment: input.comment,
    starts_at: input.startsAt,
    ends_at: input.endsAt,
    cron: input.cron,
    duration_ms: input.durationMs,
    timezone: input.timezone,
  }
}

/** The maintenance_windows table; the leader keeps the windows that can still mute in memory. */
export class WindowStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<WindowRow[]> {
    return this.db.selectFrom('maintenance_windows').selectAll().orderBy('created_at', 'desc').orderBy('id').execute()
  }

  /** Windows that can still mute something at or after `now`, in the engine's shape. */
  async current(now: number): Promise<MaintenanceWindow[]> {
    return (await this.list()).map(toEngineWindow).filter((w) => !windowOver(w, now))
  }

  async get(id: string): Promise<WindowRow | null> {
    return (await this.db.selectFrom('maintenance_windows').selectAll().where('id', '=', id).executeTakeFirst()) ?? null
  }

  async create(input: WindowInput & { createdBy: string }): Promise<WindowRow> {
    return this.db
      .insertInto('maintenance_windows')
      .values({ ...columns(input), created_by: input.createdBy })
      .returningAll()
      .executeTakeFirstOrThrow()
  }

  async update(id: string, input: WindowInput): Promise<WindowRow | null> {
    const row = await this.db
      .updateTable('maintenance_windows')
      .set({ ...columns(input), updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
    return row ?? null
  }

  async delete(id: string): Promise<WindowRow | null> {
    const row = await this.db.deleteFrom('maintenance_windows').where('id', '=', id).returningAll().executeTakeFirst()
    return row ?? null
  }
}
