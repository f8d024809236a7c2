import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.js'
import type { AdminState } from './member.js'
import type { PoolProvider } from './pool.js'

export const upstreamStatesChannel = (prefix: string) => `${prefix}upstreams:changed`

/**
 * Drain/disable/enable, stored in upstream_states and applied by every instance: the one that
 * changed it publishes on Redis, the others read the table again at once (and after every
 * (re)connect of their subscriber, since messages sent while it was away were lost).
 */
export class UpstreamAdminStates {
  private subscriber: Redis | null = null

  constructor(
    private readonly db: Kysely<Database>,
    private readonly redis: Redis | null,
    private readonly channel: string,
    private readonly pool: PoolProvider,
    private readonly log: FastifyBaseLogger,
  ) {}

  async set(name: string, state: AdminState): Promise<void> {
    await this.db
      .insertInto('upstream_states')
      .values({ name, state, updated_at: new Date() })
      .onConflict((oc) => oc.column('name').doUpdateSet({ state, updated_at: new Date() }))
      .execute()
    this.pool.setAdminState(name, state)
    await this.redis?.publish(this.channel, name).catch((err: unknown) => {
      this.log.warn({ err, upstream: name }, 'could not tell other instances that an upstream changed')
    })
  }

  /** Every stored state into the pool (an upstream without a row is active). */
  async load(): Promise<void> {
    const rows = await this.db.selectFrom('upstream_states').select(['name', 'state']).execute()
    const stored = new Map(rows.map((r) => [r.name, r.state]))
    for (const name of this.pool.upstreamNames()) this.pool.setAdminState(name, stored.get(name) ?? 'active')
  }

  start(): void {
    if (!this.redis || this.subscriber) return
    // A subscribing connection can do nothing else, hence its own; ioredis reconnects it.
    const subscriber = this.redis.duplicate({ lazyConnect: true, enableOfflineQueue: true, connectionName: undefined })
    this.subscriber = subscriber
    subscriber.on('error', () => {}) // the main client reports outages
    subscriber.on('ready', () => {
      subscriber
        .subscribe(this.channel)
        .then(() => this.reload())
        .catch((err: unknown) => this.log.warn({ err }, 'could not subscribe to upstream changes'))
    })
    subscriber.on('message', (channel) => {
      if (channel === this.channel) this.reload()
    })
    subscriber.connect().catch(() => {})
  }

  stop(): void {
    this.subscriber?.disconnect()
    this.subscriber = null
  }

  private reload(): void {
    this.load().catch((err: unknown) => this.log.warn({ err }, 'could not read the upstream states'))
  }
}
