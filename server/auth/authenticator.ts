import { LRUCache } from 'lru-cache'
import type { FastifyRequest } from 'fastify'
import type { Principal } from './access.js'
import { hashSessionId, isSessionId, type SessionRepository } from './session-repository.js'
import { hashToken, tokenShapeCheck, type TokenRepository } from './token-repository.js'

export const SESSION_COOKIE = 'ccp_session'

/**
 * How long a verified token is trusted without asking the database again. Revocations reach
 * every instance at once over Redis; this bounds how late one that missed the message (Redis
 * down) notices.
 */
export const PRINCIPAL_CACHE_MS = 5_000
/**
 * A token in use is verified again in the background once its verification is this old, so
 * that the entry is renewed before it expires instead of every concurrent request waiting on
 * the database at the moment it does.
 */
export const PRINCIPAL_REFRESH_AFTER_MS = 4_000
/**
 * How long a well-formed token the database does not know (or knows as revoked) is answered
 * 401 from memory. A miss could only hide a token created meanwhile with that very secret:
 * generated secrets are 32 random bytes nobody can try before they exist, so that leaves
 * ADMIN_TOKEN, tried on one instance before the instance that writes it has restarted. That
 * restart rotates the old ADMIN_TOKEN out and announces it, and forget() drops misses too, so
 * with Redis the new one works everywhere at once; without, within this.
 */
export const MISS_CACHE_MS = 5_000
/** last_used_at is written at most this often per token. */
const TOUCH_INTERVAL_MS = 60_000

interface Verified {
  principal: Principal
  /** When the lookup that produced it started: the database said "active" no earlier than this. */
  verifiedAt: number
}

/**
 * Credentials that stopped being valid: a revoked token (all its sessions too), or one ended
 * session (`sessionId`: its stored id, Principal.session.id — the hash of the cookie's id).
 */
export type EndedCredentials = { tokenId: string } | { sessionId: string }

export interface AuthenticatorOptions {
  onTouchError: (err: unknown) => void
  /** Tells the other instances that a token was revoked (they forget their verifications). */
  announceRevocation?: (tokenId: string | null) => Promise<void>
  /** Dashboard sessions: what the session cookie's id is looked up in. */
  sessions: SessionRepository
  /** Tells the other instances that a session ended (signed out). */
  announceSessionEnd?: (sessionId: string) => Promise<void>
  /** Credentials ended, here or on another instance (the live hub closes their sockets). */
  onEnded?: (ended: EndedCredentials) => void
  /** ADMIN_TOKEN, when set: tokens of its shape are looked up besides generated ones (tokenShapeCheck). */
  adminToken?: string
}

/**
 * Resolves a request's credentials (bearer token, or the signed session cookie carrying a
 * server-side session's id) to a Principal.
 * Verified tokens are remembered for a few seconds so that a hot API path costs one SHA-256
 * and no query; concurrent lookups of one credential share one query.
 */
export class Authenticator {
  private readonly byHash = new LRUCache<string, Verified>({ max: 10_000 })
  private readonly bySession = new LRUCache<string, Verified>({ max: 10_000 })
  private readonly lastTouched = new LRUCache<string, number>({ max: 10_000 })
  /** Hashes of well-formed tokens the database did not know, and when it said so. */
  private readonly misses = new LRUCache<string, number>({ max: 10_000 })
  private readonly wellFormed: (token: string) => boolean
  /** Lookups under way, by cache and key: a burst of requests with one token makes one query. */
  private readonly lookups = new Map<string, Promise<Principal | null>>()
  /** Bumped by forget() and forgetSession(): a lookup that started before must not put its answer in the cache. */
  private generation = 0

  constructor(
    private readonly tokens: TokenRepository,
    private readonly options: AuthenticatorOptions,
  ) {
    this.wellFormed = tokenShapeCheck(options.adminToken)
  }

  async authenticate(request: FastifyRequest, now = Date.now()): Promise<Principal | null> {
    const header = request.headers.authorization
    if (header) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
      return match ? this.fromBearer(match[1]!, now) : null
    }
    const cookie = request.cookies?.[SESSION_COOKIE]
    if (!cookie) return null
    // The signature lets a forged or garbled cookie be refused without a query.
    const unsigned = request.unsignCookie(cookie)
    return unsigned.valid && unsigned.value ? this.fromSession(unsigned.value, now) : null
  }

  /**
   * A malformed token is refused without a lookup, and so is one the database did not know
   * less than MISS_CACHE_MS ago: bogus tokens cost a regular expression, or a SHA-256.
   */
  async fromBearer(token: string, now = Date.now()): Promise<Principal | null> {
    if (!this.wellFormed(token)) return null
    const hash = hashToken(token)
    const missedAt = this.misses.get(hash)
    if (missedAt !== undefined && now - missedAt >= 0 && now - missedAt < MISS_CACHE_MS) return null
    const principal = await this.verified(this.byHash, hash, now, async () => {
      const generation = this.generation
      const row = await this.tokens.findActiveByHash(hash)
      if (!row) {
        // Not when forget() ran meanwhile: what it was told of (a rotation) may have made this token.
        if (generation === this.generation) this.misses.set(hash, now)
        return null
      }
      this.misses.delete(hash)
      return {
        tokenId: row.id,
        name: row.name,
        role: row.role,
        via: 'bearer',
        project: row.project,
        expiresAt: row.expires_at ? row.expires_at.getTime() : null,
        limits: row.limits,
        budget: row.budget,
        projectLimits: row.project_limits ?? undefined,
        projectBudget: row.project_budget,
      }
    })
    if (!principal || tokenExpired(principal, now)) return null
    this.touch(principal.tokenId, now)
    return principal
  }

  /** The principal of the session whose random id a (verified) cookie carries; null once it ended or expired. */
  async fromSession(cookieId: string, now = Date.now()): Promise<Principal | null> {
    if (!isSessionId(cookieId)) return null
    const hash = hashSessionId(cookieId)
    const principal = await this.verified(this.bySession, hash, now, async () => {
      const session = await this.options.sessions.findActive(hash, new Date(now))
      return session
        ? {
            tokenId: session.tokenId,
            name: session.name,
            role: session.role,
            via: 'session',
            session: { id: session.id, expiresAt: session.expiresAt.getTime() },
            project: session.project,
            expiresAt: session.tokenExpiresAt ? session.tokenExpiresAt.getTime() : null,
            limits: session.limits,
            budget: session.budget,
            projectLimits: session.projectLimits,
            projectBudget: session.projectBudget,
          }
        : null
    })
    // A verification remembered from before the expiry does not outlive it.
    if (!principal?.session || now >= principal.session.expiresAt || tokenExpired(principal, now)) return null
    this.touch(principal.tokenId, now)
    return principal
  }

  /**
   * Signs a session out (`sessionId`: Principal.session.id): its row goes, this instance
   * forgets it at once, its sockets are closed, and the other instances are told to do the same.
   */
  async endSession(sessionId: string): Promise<void> {
    await this.options.sessions.delete(sessionId)
    this.forgetSession(sessionId)
    this.options.onEnded?.({ sessionId })
    await this.options.announceSessionEnd?.(sessionId)
  }

  /**
   * Credentials ended on another instance (null: some, unnamed — a rotated ADMIN_TOKEN, or
   * messages missed while disconnected): forget what they concern, close their sockets.
   */
  endedElsewhere(ended: EndedCredentials | null): void {
    if (ended && 'sessionId' in ended) this.forgetSession(ended.sessionId)
    else this.forget()
    if (ended) this.options.onEnded?.(ended)
  }

  /**
   * A token was revoked here: forget every cached verification at once, close its sockets,
   * tell the other instances to do the same, and delete the sessions it opened.
   */
  async revoked(tokenId: string): Promise<void> {
    this.forget()
    this.options.onEnded?.({ tokenId })
    await this.options.announceRevocation?.(tokenId)
    // Already refused (a session of a revoked token is never active); this deletes them.
    await this.options.sessions.deleteForToken(tokenId)
  }

  /**
   * A token's project, limits, budget or expiry changed here: forget every cached verification,
   * here and (unnamed, so no socket is closed) on the other instances, so the change applies at once.
   */
  async changed(): Promise<void> {
    this.forget()
    await this.options.announceRevocation?.(null)
  }

  /** Forget cached verifications and misses (a revocation or rotation here or on another instance). */
  forget(): void {
    this.generation++
    this.misses.clear()
    this.byHash.clear()
    this.bySession.clear()
    this.lookups.clear()
  }

  private forgetSession(sessionId: string): void {
    this.generation++
    this.bySession.delete(sessionId)
    // A request arriving now must not share a lookup that may have read the row before it went.
    this.lookups.delete(`s:${sessionId}`)
  }

  private verified(
    cache: LRUCache<string, Verified>,
    key: string,
    now: number,
    load: () => Promise<Principal | null>,
  ): Promise<Principal | null> | Principal {
    const entry = cache.get(key)
    if (entry) {
      const age = now - entry.verifiedAt
      if (age >= 0 && age < PRINCIPAL_CACHE_MS) {
        if (age >= PRINCIPAL_REFRESH_AFTER_MS) this.lookup(cache, key, now, load).catch(() => {}) // the next request after expiry sees the error
        return entry.principal
      }
    }
    return this.lookup(cache, key, now, load)
  }

  private lookup(
    cache: LRUCache<string, Verified>,
    key: string,
    now: number,
    load: () => Promise<Principal | null>,
  ): Promise<Principal | null> {
    const id = `${cache === this.byHash ? 'h' : 's'}:${key}`
    const running = this.lookups.get(id)
    if (running) return running
    const generation = this.generation
    const lookup = load()
      .then((principal) => {
        if (generation === this.generation) {
          if (principal) cache.set(key, { principal, verifiedAt: now })
          else cache.delete(key)
        }
        return principal
      })
      .finally(() => {
        if (this.lookups.get(id) === lookup) this.lookups.delete(id)
      })
    this.lookups.set(id, lookup)
    return lookup
  }

  private touch(tokenId: string, now: number): void {
    const last = this.lastTouched.get(tokenId)
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return
    this.lastTouched.set(tokenId, now)
    this.tokens.touch(tokenId, new Date(now)).catch(this.options.onTouchError)
  }
}

/** A verification remembered from before the token's expiry does not outlive it. */
function tokenExpired(principal: Principal, now: number): boolean {
  return principal.expiresAt !== null && now >= principal.expiresAt
}

/** Whether a request brings credentials at all (a failed authentication, when they do not verify). */
export function presentsCredentials(request: FastifyRequest): boolean {
  return request.headers.authorization !== undefined || request.cookies?.[SESSION_COOKIE] !== undefined
}
