import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { Lease, LockStore } from '../infra/locks/lease.js'

// Renew or release only while the key still holds our token: a lease that expired and was
// taken by another instance must never be extended or deleted by us.
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`

/** The database lock every leader holds (see LeaderElection). */
const LEAD_LOCK = 'leader:alerting'

/**
 * One leader at a time across instances sharing Redis: a lease (SET NX PX) renewed every
 * third of its TTL. A leader that dies stops renewing; its lease expires and another
 * instance takes it on its next attempt, so takeover happens within two TTLs. Without Redis
 * there is only one instance, and it leads.
 *
 * Redis itself going down must not silence alerting (CacheDown is one of the alerts), so a
 * leader also holds a lock in the database (`locks`: a Postgres advisory lock, in-process
 * on PGlite). An instance that lost Redis steps down at once, letting one that still reaches
 * Redis take over; once Redis has been unreachable for two TTLs, the instance that gets the
 * database lock leads alone until Redis is back. The database lock is what keeps leadership
 * single throughout: a lease holder that cannot take it (a fallback leader still holds it)
 * waits.
 */
export class LeaderElection {
  private readonly token: string
  private leading: boolean
  private timer: NodeJS.Timeout | undefined
  private readonly listeners = new Set<(leading: boolean) => void>()
  private holdsLease = false
  private leadLock: Lease | null = null
  private redisUnreachableSince: number | null = null
  private round: Promise<boolean> | null = null
  private stopped = false

  constructor(
    private readonly redis: Redis | null,
    private readonly key: string,
    private readonly instanceId: string,
    private readonly ttlMs: number,
    private readonly log: FastifyBaseLogger,
    private readonly locks: LockStore,
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
    this.stopped = true
    clearInterval(this.timer)
    this.timer = undefined
    if (!this.redis) return
    // A round under way may still take the lease or the lock: let it finish, then give both back.
    await this.round
    if (this.holdsLease) {
      // Hand over at once on a clean shutdown instead of making the others wait for expiry.
      await this.redis.eval(RELEASE, 1, this.key, this.token).catch(() => {})
      this.holdsLease = false
    }
    await this.releaseLeadLock()
    this.set(false)
  }

  /** One acquire-or-renew round (rounds never overlap); exposed so tests can drive it. */
  attempt(): Promise<boolean> {
    if (!this.redis) return Promise.resolve(true)
    this.round ??= this.runRound(this.redis).finally(() => (this.round = null))
    return this.round
  }

  private async runRound(redis: Redis): Promise<boolean> {
    if (this.stopped) return false
    let lease: boolean
    try {
      lease = await this.renewOrAcquireLease(redis)
      this.redisUnreachableSince = null
    } catch (err) {
      return this.withoutRedis(err)
    }
    this.holdsLease = lease
    if (!lease) {
      // Another instance holds the lease (we may have led on the database lock until now).
      await this.releaseLeadLock()
      this.set(false)
      return false
    }
    // Leading needs the database lock too: a fallback leader may still hold it until it sees Redis again.
    this.set(await this.holdLeadLock())
    return this.leading
  }

  private async renewOrAcquireLease(redis: Redis): Promise<boolean> {
    if (this.holdsLease && (await redis.eval(RENEW, 1, this.key, this.token, String(this.ttlMs))) === 1) return true
    return (await redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX')) === 'OK'
  }

  private async withoutRedis(err: unknown): Promise<boolean> {
    this.holdsLease = false
    const now = Date.now()
    this.redisUnreachableSince ??= now
    if (now - this.redisUnreachableSince < 2 * this.ttlMs) {
      // Can't reach Redis: we can't prove we still hold the lease, so stop leading; an
      // instance that still reaches Redis takes over once the lease expires.
      if (this.leading) this.log.warn({ err }, 'lost contact with Redis; stepping down as leader')
      await this.releaseLeadLock()
      this.set(false)
      return false
    }
    // Two TTLs without Redis: any lease has expired, and an instance that reached Redis would
    // hold the database lock by now. If nobody does, Redis is down for everyone: lead on it.
    const leading = await this.holdLeadLock()
    if (leading && !this.leading)
      this.log.warn({ err }, 'Redis unreachable; leading on the database lock until it is back')
    this.set(leading)
    return leading
  }

  private async holdLeadLock(): Promise<boolean> {
    if (this.leadLock?.lost.aborted) this.leadLock = null
    if (this.leadLock) return true
    try {
      this.leadLock = await this.locks.tryAcquire(LEAD_LOCK)
    } catch (err) {
      this.log.warn({ err }, 'could not take the leader lock in the database')
    }
    return this.leadLock !== null
  }

  private async releaseLeadLock(): Promise<void> {
    const lock = this.leadLock
    this.leadLock = null
    await lock
      ?.release()
      .catch((err: unknown) => this.log.warn({ err }, 'could not release the leader lock in the database'))
  }

  private set(leading: boolean): void {
    if (leading === this.leading) return
    this.leading = leading
    this.log.info(
      { leader: leading },
      leading
        ? 'this instance is now the leader (alert evaluation and delivery)'
        : 'this instance is no longer the leader',
    )
    for (const listener of this.listeners) listener(leading)
  }
}
