import { LRUCache } from 'lru-cache'
import type { FastifyRequest } from 'fastify'
import type { Principal } from './access.js'
import { hashToken, TOKEN_PREFIX, type TokenRepository } from './tokens.js'

export const SESSION_COOKIE = 'ccp_session'

/** How long a verified token is trusted without asking the database again (revocation elsewhere takes this long). */
const PRINCIPAL_CACHE_MS = 5_000
/** last_used_at is written at most this often per token. */
const TOUCH_INTERVAL_MS = 60_000

/**
 * Resolves a request's credentials (bearer token or signed session cookie) to a Principal.
 * Verified tokens are remembered for a few seconds so that a hot API path costs one
 * SHA-256 and no query.
 */
export class Authenticator {
  private readonly byHash = new LRUCache<string, Principal>({ max: 10_000, ttl: PRINCIPAL_CACHE_MS })
  private readonly bySession = new LRUCache<string, Principal>({ max: 10_000, ttl: PRINCIPAL_CACHE_MS })
  private readonly lastTouched = new LRUCache<string, number>({ max: 10_000 })

  constructor(
    private readonly tokens: TokenRepository,
    private readonly onTouchError: (err: unknown) => void,
  ) {}

  async authenticate(request: FastifyRequest, now = Date.now()): Promise<Principal | null> {
    const header = request.headers.authorization
    if (header) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
      return match ? this.fromBearer(match[1]!, now) : null
    }
    const cookie = request.cookies?.[SESSION_COOKIE]
    return cookie ? this.fromSessionCookie(request, cookie, now) : null
  }

  async fromBearer(token: string, now = Date.now()): Promise<Principal | null> {
    if (!token.startsWith(TOKEN_PREFIX) && token.length < 32) return null
    const hash = hashToken(token)
    let principal = this.byHash.get(hash)
    if (!principal) {
      const row = await this.tokens.findActiveByHash(hash)
      if (!row) return null
      principal = { tokenId: row.id, name: row.name, role: row.role, via: 'bearer' }
      this.byHash.set(hash, principal)
    }
    this.touch(principal.tokenId, now)
    return principal
  }

  private async fromSessionCookie(request: FastifyRequest, cookie: string, now: number): Promise<Principal | null> {
    const unsigned = request.unsignCookie(cookie)
    if (!unsigned.valid || !unsigned.value) return null
    const [tokenId, expiresAt] = unsigned.value.split('|')
    if (!tokenId || !expiresAt || Number(expiresAt) <= now) return null
    let principal = this.bySession.get(tokenId)
    if (!principal) {
      const row = await this.tokens.findActiveById(tokenId)
      if (!row) return null
      principal = { tokenId: row.id, name: row.name, role: row.role, via: 'session' }
      this.bySession.set(tokenId, principal)
    }
    this.touch(principal.tokenId, now)
    return principal
  }

  /** Forget cached verifications (after a revoke on this instance). */
  forget(): void {
    this.byHash.clear()
    this.bySession.clear()
  }

  private touch(tokenId: string, now: number): void {
    const last = this.lastTouched.get(tokenId)
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return
    this.lastTouched.set(tokenId, now)
    this.tokens.touch(tokenId, new Date(now)).catch(this.onTouchError)
  }
}

export function sessionCookieValue(tokenId: string, expiresAt: number): string {
  return `${tokenId}|${expiresAt}`
}
