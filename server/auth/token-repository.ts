import { hash as digest, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { ApiToken, Database, TokenBudget, TokenLimits, TokenRole } from '../db/schema.js'

export const TOKEN_PREFIX = 'ccp_'

/** 32 random bytes, base64url, behind a recognisable prefix (so secret scanners can find leaks). */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url')
}

/** What generateToken makes: the prefix and exactly 43 base64url characters (32 bytes). */
const GENERATED_TOKEN = new RegExp(`^${TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`)

/** Alphabets an operator's ADMIN_TOKEN may be drawn from, narrowest first (the last: any visible ASCII). */
const ALPHABETS = [/^[0-9a-f]+$/, /^[0-9A-F]+$/, /^[A-Za-z0-9_-]+$/, /^[A-Za-z0-9+/=]+$/, /^[\x21-\x7e]+$/]

/**
 * The check a presented token passes before it costs a lookup: a token we generated, or a
 * string of ADMIN_TOKEN's length drawn from the narrowest alphabet ADMIN_TOKEN fits in (an
 * operator may set any string of 32+ characters; a new one made the same way, rolled out to
 * the fleet one instance at a time, passes on the instances not yet restarted). Every token
 * in the database is one of these: anything else is refused without asking it.
 */
export function tokenShapeCheck(adminToken: string | undefined): (candidate: string) => boolean {
  if (!adminToken || GENERATED_TOKEN.test(adminToken)) return (candidate) => GENERATED_TOKEN.test(candidate)
  const length = adminToken.length
  const alphabet = ALPHABETS.find((a) => a.test(adminToken))
  return (candidate) =>
    GENERATED_TOKEN.test(candidate) ||
    (candidate.length === length && (alphabet === undefined || alphabet.test(candidate)))
}

export function hashToken(token: string): string {
  return digest('sha256', token, 'hex')
}

/** What we show of a token after creation: enough to recognise it, useless to an attacker. */
export function displayPrefix(token: string): string {
  return token.slice(0, TOKEN_PREFIX.length + 6)
}

export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex')
  const right = Buffer.from(b, 'hex')
  return left.length === right.length && timingSafeEqual(left, right)
}

export type PublicToken = Omit<ApiToken, 'token_hash'>

const publicColumns = [
  'id',
  'name',
  'role',
  'token_prefix',
  'created_by',
  'created_at',
  'last_used_at',
  'revoked_at',
  'project',
  'expires_at',
  'limits',
  'budget',
] as const

/** What a token may do beyond its role (POST and PATCH /api/tokens). */
export interface TokenGrant {
  project: string | null
  expiresAt: Date | null
  limits: TokenLimits
  budget: TokenBudget | null
}

const grantColumns = (grant: Partial<TokenGrant>) => ({
  ...(grant.project !== undefined ? { project: grant.project } : {}),
  ...(grant.expiresAt !== undefined ? { expires_at: grant.expiresAt } : {}),
  ...(grant.limits !== undefined ? { limits: JSON.stringify(grant.limits) } : {}),
  ...(grant.budget !== undefined ? { budget: grant.budget === null ? null : JSON.stringify(grant.budget) } : {}),
})

/** A token's project's own limits and budget, joined from the projects table (null: the project sets none). */
export interface ProjectGrantColumns {
  project_limits: TokenLimits | null
  project_budget: TokenBudget | null
}

export class TokenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(input: {
    name: string
    role: TokenRole
    createdBy: string | null
    token?: string
    grant?: Partial<TokenGrant>
  }): Promise<{ token: PublicToken; secret: string }> {
    const secret = input.token ?? generateToken()
    const token = await this.db
      .insertInto('api_tokens')
      .values({
        name: input.name,
        role: input.role,
        token_hash: hashToken(secret),
        token_prefix: displayPrefix(secret),
        created_by: input.createdBy,
        ...grantColumns(input.grant ?? {}),
      })
      .returning(publicColumns)
      .executeTakeFirstOrThrow()
    return { token, secret }
  }

  /** The token of this hash, unless revoked or expired at `now`, with its project's limits and budget (null: none set). */
  async findActiveByHash(hash: string, now = new Date()): Promise<(ApiToken & ProjectGrantColumns) | undefined> {
    const row = await this.db
      .selectFrom('api_tokens as t')
      .leftJoin('projects as p', 'p.name', 't.project')
      .selectAll('t')
      .select(['p.limits as project_limits', 'p.budget as project_budget'])
      .where('t.token_hash', '=', hash)
      .where('t.revoked_at', 'is', null)
      .where((eb) => eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', now)]))
      .executeTakeFirst()
    // The index lookup already matched; the constant-time compare keeps the check honest
    // should the lookup ever become a prefix or case-insensitive match.
    return row && hashesEqual(row.token_hash, hash) ? row : undefined
  }

  async findActiveById(id: string): Promise<PublicToken | undefined> {
    return this.db
      .selectFrom('api_tokens')
      .select(publicColumns)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
  }

  async list(): Promise<PublicToken[]> {
    return this.db.selectFrom('api_tokens').select(publicColumns).orderBy('created_at', 'desc').orderBy('id').execute()
  }

  /** Changes what an active token may do (the fields given); undefined when there is no such active token. */
  async updateGrant(id: string, grant: Partial<TokenGrant>): Promise<PublicToken | undefined> {
    const set = grantColumns(grant)
    if (Object.keys(set).length === 0) return this.findActiveById(id)
    return this.db
      .updateTable('api_tokens')
      .set(set)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .returning(publicColumns)
      .executeTakeFirst()
  }

  async revoke(id: string, now = new Date()): Promise<PublicToken | undefined> {
    return this.db
      .updateTable('api_tokens')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .returning(publicColumns)
      .executeTakeFirst()
  }

  async countActive(role?: TokenRole): Promise<number> {
    let query = this.db
      .selectFrom('api_tokens')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('revoked_at', 'is', null)
    if (role) query = query.where('role', '=', role)
    const { n } = await query.executeTakeFirstOrThrow()
    return Number(n)
  }

  async touch(id: string, now: Date): Promise<void> {
    await this.db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id).execute()
  }

  /**
   * Makes `token` the one active token named `name` (the ADMIN_TOKEN row): inserts it when new,
   * and revokes older ones of that name (counted). A row of this very token that is revoked
   * stays revoked, however it was (by hand, or rotated out by a later ADMIN_TOKEN): nothing
   * changes then, and the caller says so.
   */
  async ensureNamedToken(
    name: string,
    role: TokenRole,
    token: string,
    now = new Date(),
  ): Promise<{ status: 'active'; id: string; revoked: number } | { status: 'revoked'; revokedAt: Date }> {
    const hash = hashToken(token)
    return this.db.transaction().execute(async (trx) => {
      const find = () =>
        trx.selectFrom('api_tokens').select(['id', 'revoked_at']).where('token_hash', '=', hash).executeTakeFirst()
      let row = await find()
      if (!row) {
        // Instances of a fleet starting together all find no row and insert: the first one wins.
        await trx
          .insertInto('api_tokens')
          .values({ name, role, token_hash: hash, token_prefix: displayPrefix(token), created_by: 'environment' })
          .onConflict((oc) => oc.column('token_hash').doNothing())
          .execute()
        row = await find()
        if (!row) throw new Error(`the ${name} row was neither inserted nor found`)
      }
      if (row.revoked_at) return { status: 'revoked' as const, revokedAt: row.revoked_at }
      const { numUpdatedRows } = await trx
        .updateTable('api_tokens')
        .set({ revoked_at: now })
        .where('name', '=', name)
        .where('token_hash', '!=', hash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      return { status: 'active' as const, id: row.id, revoked: Number(numUpdatedRows) }
    })
  }

  /** True exactly once per database: the first caller claims the right to create the bootstrap token. */
  async claimBootstrap(): Promise<boolean> {
    const claimed = await this.db
      .insertInto('app_settings')
      .values({ key: 'bootstrap_admin_token_created_at', value: new Date().toISOString() })
      .onConflict((oc) => oc.column('key').doNothing())
      .returning('key')
      .executeTakeFirst()
    return claimed !== undefined
  }
}
