import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'

// Renew or release only while the key still holds our token: a lease that expired and was
// taken by another instance must never be extended or deleted by us.
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`

/**
 * One leader at a time across instances sharing Redis: a lease (SET NX PX) renewed every
 * third of its TTL. A leader that dies stops renewing; its lease expires and another
 * instance takes it on its next attempt, so takeover happens within two TTLs. Without Redis
 * there is only one instance, and it leads.
 */
export class LeaderElection {
  private readonly token: string
  private leading: boolean
  private timer: NodeJS.Timeout | undefined
  private readonly listeners = new Set<(leading: boolean) => void>()

  constructor(
    private readonly redis: Redis | null,
    private readonly key: string,
    private readonly instanceId: string,
    private readonly ttlMs: number,
    private readonly log: FastifyBaseLogger,
  ) {
    this.leading = redis === null
    // The lease names its holder so every instance can show who leads.
    this.token = `${instanceId}|${randomUUID()}`
  }

  /** The instance holding the lease now, or null when nobody does (or Redis is unreachable). */
  async currentLeader(): Promise<string | null> {
    if (!this.redis) return this.instanceId
    const value = await this.redis.get(this.key).catch(() => null)
    return value ? value.slice(0, value.lastIndexOf('|')) : null
  }

  isLeader(): boolean {
    return this.leading
  }

  onChange(listener: (leading: boolean) => void): void {
    this.listeners.add(listener)
  }

  start(): void {
    if (!this.redis || this.timer) return
    const attempt = () => void this.attempt()
    attempt()
    this.timer = setInterval(attempt, Math.max(50, Math.floor(this.ttlMs / 3)))
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    if (this.redis && this.leading) {
      // Hand over at once on a clean shutdown instead of making the others wait for expiry.
      await this.redis.eval(RELEASE, 1, this.key, this.token).catch(() => {})
      this.set(false)
    }
  }

  /** One acquire-or-renew round; exposed so tests can drive it. */
  async attempt(): Promise<boolean> {
    const redis = this.redis
    if (!redis) return true
    try {
      const held = this.leading
        ? (await redis.eval(RENEW, 1, this.key, this.token, String(this.ttlMs))) === 1
        : (await redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX')) === 'OK'
      this.set(held)
    } catch (err) {
      // Can't reach Redis: we can't prove we still hold the lease, so stop leading.
      if (this.leading) this.log.warn({ err }, 'lost contact with Redis; stepping down as leader')
      this.set(false)
    }
    return this.leading
  }

  private set(leading: boolean): void {
    if (leading === this.leading) return
    this.leading = leading
    this.log.info({ leader: leading }, leading ? 'this instance is now the leader (alert evaluation and delivery)' : 'this instance is no longer the leader')
    for (const listener of this.listeners) listener(leading)
  }
}
