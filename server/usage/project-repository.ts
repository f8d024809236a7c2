import { sql, type Kysely } from 'kysely'
import type { Database, TokenBudget, TokenLimits } from '../db/schema.js'

export interface ProjectRow {
  name: string
  limits: TokenLimits
  budget: TokenBudget | null
  tokens: number
  updated_at: Date | null
  updated_by: string | null
}

/** Projects: every name an active token carries, and those with settings (the projects table). */
export class ProjectRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<ProjectRow[]> {
    const counts = await this.db
      .selectFrom('api_tokens')
      .select(['project', sql<string>`count(*)`.as('tokens')])
      .where('project', 'is not', null)
      .where('revoked_at', 'is', null)
      .groupBy('project')
      .execute()
    const rows = await this.db.selectFrom('projects').selectAll().execute()
    const byName = new Map<string, ProjectRow>()
    for (const r of rows) byName.set(r.name, { ...r, tokens: 0 })
    for (const c of counts) {
      const row = byName.get(c.project!)
      if (row) row.tokens = Number(c.tokens)
      else
        byName.set(c.project!, {
          name: c.project!,
          limits: {},
          budget: null,
          tokens: Number(c.tokens),
          updated_at: null,
          updated_by: null,
        })
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Whether the project exists: an active token names it, or it has settings. */
  async exists(name: string): Promise<boolean> {
    const token = await this.db
      .selectFrom('api_tokens')
      .select('id')
      .where('project', '=', name)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    if (token) return true
    return (
      (await this.db.selectFrom('projects').select('name').where('name', '=', name).executeTakeFirst()) !== undefined
    )
  }

  /** Sets the fields given (the rest stay as they are). */
  async put(name: string, fields: { limits?: TokenLimits; budget?: TokenBudget | null }, by: string): Promise<void> {
    const values = {
      ...(fields.limits !== undefined ? { limits: JSON.stringify(fields.limits) } : {}),
      ...(fields.budget !== undefined ? { budget: fields.budget === null ? null : JSON.stringify(fields.budget) } : {}),
      updated_by: by,
    }
    await this.db
      .insertInto('projects')
      .values({ name, ...values })
      .onConflict((oc) => oc.column('name').doUpdateSet({ ...values, updated_at: new Date() }))
      .execute()
  }

  /** Drops the project's limits and budget; false when it had none. */
  async clear(name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('projects').where('name', '=', name).executeTakeFirst()
    return Number(result.numDeletedRows) > 0
  }
}
