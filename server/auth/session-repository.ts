import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database, TokenBudget, TokenLimits, TokenRole } from '../db/schema.js'
import { hashToken } from './token-repository.js'

/** 32 random bytes, base64url: what the (signed) session cookie carries. */
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/

export const isSessionId = (value: string) => SESSION_ID_PATTERN.test(value)

/** The stored key of a session: the SHA-256 of its id (a leaked table signs nobody in). */
export const hashSessionId = (id: string) => hashToken(id)

export interface ActiveSession {
  /** hashSessionId of the cookie's id. */
  id: string
  tokenId: string
  name: string
  role: TokenRole
  expiresAt: Date
  project: string | null
  tokenExpiresAt: Date | null
  limits: TokenLimits
  budget: TokenBudget | null
  projectLimits?: TokenLimits
  projectBudget: TokenBudget | null
}

/**
 * Dashboard sessions (`dashboard_sessions`): one row per sign-in, referencing the token that
 * opened it. A session is active while its row exists, has not expired and its token is not
 * revoked.
 */
export class SessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** A new session for `tokenId`; the returned id goes into the cookie and is stored nowhere. */
  async create(tokenId: string, expiresAt: Date): Promise<{ id: string; hash: string }> {
    const id = randomBytes(32).toString('base64url')
    const hash = hashSessionId(id)
    await this.db
      .insertInto('dashboard_sessions')
      .values({ id_hash: hash, token_id: tokenId, expires_at: expiresAt })
      .execute()
    return { id, hash }
  }

  async findActive(hash: string, now: Date): Promise<ActiveSession | undefined> {
    const row = await this.db
      .selectFrom('dashboard_sessions as s')
      .innerJoin('api_tokens as t', 't.id', 's.token_id')
      .leftJoin('projects as p', 'p.name', 't.project')
      .select([
        's.id_hash',
        's.token_id',
        's.expires_at',
        't.name',
        't.role',
        't.project',
        't.expires_at as token_expires_at',
        't.limits',
        't.budget',
        'p.limits as project_limits',
        'p.budget as project_budget',
      ])
      .where('s.id_hash', '=', hash)
      .where('s.expires_at', '>', now)
      .where('t.revoked_at', 'is', null)
      .where((eb) => eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', now)]))
      .executeTakeFirst()
    return (
      row && {
        id: row.id_hash,
        tokenId: row.token_id,
        name: row.name,
        role: row.role,
        expiresAt: row.expires_at,
        project: row.project,
        tokenExpiresAt: row.token_expires_at,
        limits: row.limits,
        budget: row.budget,
        projectLimits: row.project_limits ?? undefined,
        projectBudget: row.project_budget,
      }
    )
  }

  /** Sign-out. True when there was such a session. */
  async delete(hash: string): Promise<boolean> {
    const { numDeletedRows } = await this.db
      .deleteFrom('dashboard_sessions')
      .where('id_hash', '=', hash)
      .executeTakeFirst()
    return numDeletedRows > 0n
  }

  /** Every session the token opened (it was revoked). */
  async deleteForToken(tokenId: string): Promise<number> {
    const { numDeletedRows } = await this.db
      .deleteFrom('dashboard_sessions')
      .where('token_id', '=', tokenId)
      .executeTakeFirst()
    return Number(numDeletedRows)
  }
}
