import { hash as digest, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { ApiToken, Database, TokenRole } from '../db/schema.js'

export const TOKEN_PREFIX = 'ccp_'

/** 32 random bytes, base64url, behind a recognisable prefix (so secret scanners can find leaks). */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url')
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
] as const

export class TokenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(input: {
    name: string
    role: TokenRole
    createdBy: string | null
    token?: string
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
      })
      .returning(publicColumns)
      .executeTakeFirstOrThrow()
    return { token, secret }
  }

  async findActiveByHash(hash: string): Promise<ApiToken | undefined> {
    const row = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('token_hash', '=', hash)
      .where('revoked_at', 'is', null)
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

  /** Makes `token` the one active token named `name` (the ADMIN_TOKEN row): older ones are revoked (and counted). */
  async ensureNamedToken(name: string, role: TokenRole, token: string, now = new Date()): Promise<{ revoked: number }> {
    const hash = hashToken(token)
    return this.db.transaction().execute(async (trx) => {
      const { numUpdatedRows } = await trx
        .updateTable('api_tokens')
        .set({ revoked_at: now })
        .where('name', '=', name)
        .where('token_hash', '!=', hash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      const existing = await trx
        .selectFrom('api_tokens')
        .select(['id', 'revoked_at'])
        .where('token_hash', '=', hash)
        .executeTakeFirst()
      if (!existing) {
        // Instances of a fleet starting together all find no row and insert: the first one wins.
        await trx
          .insertInto('api_tokens')
          .values({ name, role, token_hash: hash, token_prefix: displayPrefix(token), created_by: 'environment' })
          .onConflict((oc) => oc.column('token_hash').doNothing())
          .execute()
      } else if (existing.revoked_at) {
        await trx.updateTable('api_tokens').set({ revoked_at: null, role }).where('id', '=', existing.id).execute()
      }
      return { revoked: Number(numUpdatedRows) }
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
