import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { EndedCredentials } from './authenticator.js'

/** A pub/sub channel, not a key (like the cache's clear channel). */
export const revocationChannel = (prefix: string) => `${prefix}auth:revoked`

interface RevocationMessage {
  from: string
  tokenId: string | null
  /** A session signed out (its stored id hash); tokenId is null then. */
  sessionId?: string
}

/**
 * Token revocations and sign-outs for every instance: the instance where it happened
 * publishes, the others forget their cached verifications at once instead of trusting them
 * until they expire, and close the sockets opened with them. A subscriber that was
 * disconnected may have missed messages, so it forgets everything on every (re)connect too.
 */
export class TokenRevocations {
  private readonly channel: string
  private subscriber: Redis | null = null
  private lastPublishErrorAt = 0

  constructor(
    private readonly redis: Redis,
    prefix: string,
    /** Unique per app, so that an instance ignores its own announcements. */
    private readonly origin: string,
    /** null: forget everything (reconnected, or tokens revoked without a name). */
    private readonly ended: (ended: EndedCredentials | null) => void,
    private readonly log: FastifyBaseLogger,
  ) {
    this.channel = revocationChannel(prefix)
  }

  start(): void {
    // A subscribing connection can do nothing else, hence its own; ioredis reconnects it.
    const subscriber = this.redis.duplicate({
      lazyConnect: true,
      enableOfflineQueue: true,
      commandTimeout: undefined,
      connectionName: undefined,
    })
    this.subscriber = subscriber
    subscriber.on('error', () => {}) // the main client reports outages
    subscriber.on('ready', () => {
      // Forgotten once listening: a revocation made before then is in the database for the next lookup.
      subscriber.subscribe(this.channel).then(
        () => this.ended(null),
        (err: unknown) => this.log.warn({ err }, 'could not subscribe to token revocations'),
      )
    })
    subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.channel) return
      let message: RevocationMessage
      try {
        message = JSON.parse(raw) as RevocationMessage
      } catch {
        return
      }
      if (message.from === this.origin) return
      if (typeof message.sessionId === 'string') {
        this.ended({ sessionId: message.sessionId })
        this.log.debug('a session was signed out on another instance; dropped its cached verification')
        return
      }
      this.ended(typeof message.tokenId === 'string' ? { tokenId: message.tokenId } : null)
      this.log.info(
        { tokenId: message.tokenId },
        'a token was revoked on another instance; dropped cached verifications',
      )
    })
    subscriber.connect().catch(() => {})
  }

  /** Publishes a revocation (null: one or more tokens, unnamed). Never throws: the others still notice within PRINCIPAL_CACHE_MS. */
  async announce(tokenId: string | null): Promise<void> {
    await this.publish({ from: this.origin, tokenId })
  }

  /** Publishes a sign-out. Never throws, like announce(). */
  async announceSessionEnd(sessionId: string): Promise<void> {
    await this.publish({ from: this.origin, tokenId: null, sessionId })
  }

  private async publish(message: RevocationMessage): Promise<void> {
    try {
      await this.redis.publish(this.channel, JSON.stringify(message))
    } catch (err) {
      const now = Date.now()
      if (now - this.lastPublishErrorAt < 10_000) return
      this.lastPublishErrorAt = now
      this.log.warn(
        { err },
        'could not tell other instances about a token revocation or sign-out; they notice when their cached verification expires',
      )
    }
  }

  stop(): void {
    this.subscriber?.disconnect()
    this.subscriber = null
  }
}
