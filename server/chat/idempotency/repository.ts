import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.js'

export interface KeyRecord {
  request_hash: string
  state: 'running' | 'done' | 'failed'
  status: number | null
  body: unknown
  resume: Record<string, string> | null
}

/** The outcome of claiming a key for a request. */
export type Claim =
  | { kind: 'new' }
  | { kind: 'resume'; resume: Record<string, string> | null }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'running' }
  | { kind: 'mismatch' }

/**
 * The idempotency_keys table. Every decision is one statement, so two instances racing for one
 * key cannot both run it: the insert (or the take-over of an expired, failed or abandoned
 * record) succeeds for one of them only.
 */
export class IdempotencyRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: { ttlMs: number; leaseMs: number },
  ) {}

  async claim(scope: string, key: string, requestHash: string): Promise<Claim> {
    const lease = sql<Date>`now() + ${`${this.options.leaseMs} milliseconds`}::interval`
    const expires = sql<Date>`now() + ${`${this.options.ttlMs} milliseconds`}::interval`
    // A new key, or one whose 24 hours are over (then it starts afresh, whatever it held).
    const inserted = await this.db
      .insertInto('idempotency_keys')
      .values({ scope, key, request_hash: requestHash, state: 'running', lease_until: lease, expires_at: expires })
      .onConflict((oc) =>
        oc
          .columns(['scope', 'key'])
          .doUpdateSet({
            request_hash: requestHash,
            state: 'running',
            lease_until: lease,
            status: null,
            body: null,
            resume: null,
            expires_at: expires,
          })
          .where('idempotency_keys.expires_at', '<', sql<Date>`now()`),
      )
      .returning('key')
      .executeTakeFirst()
    if (inserted) return { kind: 'new' }

    const row = await this.find(scope, key)
    // Deleted between the two statements (retention): claim again.
    if (!row) return this.claim(scope, key, requestHash)
    if (row.request_hash !== requestHash) return { kind: 'mismatch' }
    if (row.state === 'done') return { kind: 'replay', status: row.status ?? 200, body: row.body }
    // Failed for a reason a retry may cure, or abandoned (its instance died): take it over.
    const taken = await this.db
      .updateTable('idempotency_keys')
      .set({ state: 'running', lease_until: lease })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .where('request_hash', '=', requestHash)
      .where((eb) =>
        eb.or([
          eb('state', '=', 'failed'),
          eb.and([eb('state', '=', 'running'), eb('lease_until', '<', sql<Date>`now()`)]),
        ]),
      )
      .returning('resume')
      .executeTakeFirst()
    return taken ? { kind: 'resume', resume: taken.resume } : { kind: 'running' }
  }

  find(scope: string, key: string): Promise<KeyRecord | undefined> {
    return this.db
      .selectFrom('idempotency_keys')
      .select(['request_hash', 'state', 'status', 'body', 'resume'])
      .where('scope', '=', scope)
      .where('key', '=', key)
      .executeTakeFirst()
  }

  /** What a retry of a request that fails from here on must not do again (the user message it stored). */
  async noteResume(scope: string, key: string, resume: Record<string, string>): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ resume: JSON.stringify(resume) })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute()
  }

  async finish(scope: string, key: string, status: number, body: unknown): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ state: 'done', status, body: JSON.stringify(body ?? null), lease_until: null })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute()
  }

  async fail(scope: string, key: string): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ state: 'failed', lease_until: null })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .where('state', '=', 'running')
      .execute()
  }
}
