import type { FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import type { AuditEntry, Database } from '../db/schema.js'
import type { AppEvents } from '../events.js'

export interface AuditRecord {
  action: string
  target?: string | null
  params?: Record<string, unknown>
  result?: 'ok' | 'error'
  detail?: Record<string, unknown> | null
}

/** Who did what, when, with what result. Every admin mutation writes one entry. */
export class AuditLog {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly events: AppEvents,
  ) {}

  async record(request: FastifyRequest | null, entry: AuditRecord): Promise<AuditEntry> {
    const principal = request?.principal
    const row = await this.db
      .insertInto('audit_log')
      .values({
        actor: principal ? principal.name : 'system',
        actor_token_id: principal?.tokenId ?? null,
        action: entry.action,
        target: entry.target ?? null,
        params: JSON.stringify(entry.params ?? {}),
        result: entry.result ?? 'ok',
        detail: entry.detail ? JSON.stringify(entry.detail) : null,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    this.events.emit('audit', row)
    return row
  }

  /** Newest first, keyset-paginated on (at, id). */
  async list(options: { limit: number; before?: string; action?: string }): Promise<AuditEntry[]> {
    let query = this.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(options.limit)
    if (options.before) query = query.where('id', '<', options.before)
    if (options.action) query = query.where('action', '=', options.action)
    return query.execute()
  }
}
