import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'

/** What the leader keeps in memory and reloads when it changes. */
export type AlertChange = 'rules' | 'silences' | 'windows' | 'states' | 'receivers'
export const ALL_CHANGES: readonly AlertChange[] = ['rules', 'silences', 'windows', 'states', 'receivers']

export const changesChannel = (prefix: string) => `${prefix}alerts:changes`

interface ChangeMessage {
  from: string
  change: AlertChange
}

/**
 * "Rules (silences, states, receivers) changed": heard at once on this instance, and on the
 * others over Redis pub/sub, as cache clears are (server/cache/invalidation.ts). Without Redis
 * there is one instance and only local listeners. After every (re)connect of the subscriber
 * the listeners hear of everything, since changes made while it was away were not heard.
 */
export class AlertChanges {
  private readonly listeners = new Set<(change: AlertChange) => void>()
  private subscriber: Redis | null = null
  private lastPublishError = 0

  constructor(
    private readonly redis: Redis | null,
    private readonly channel: string,
    /** Unique per app, so that an instance does not hear its own changes twice. */
    private readonly origin: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  on(listener: (change: AlertChange) => void): void {
    this.listeners.add(listener)
  }

  publish(change: AlertChange): void {
    this.deliver(change)
    if (!this.redis) return
    const message: ChangeMessage = { from: this.origin, change }
    this.redis.publish(this.channel, JSON.stringify(message)).catch((err: unknown) => {
      const now = Date.now()
      if (now - this.lastPublishError > 60_000)
        this.log.warn({ err, change }, 'could not tell other instances that alerting changed')
      this.lastPublishError = now
    })
  }

  start(): void {
    if (!this.redis || this.subscriber) return
    // A subscribing connection cannot run other commands, hence its own.
    const subscriber = this.redis.duplicate({ lazyConnect: true, enableOfflineQueue: true, connectionName: undefined })
    this.subscriber = subscriber
    // The main client reports outages; this one only has to come back, which ioredis does.
    subscriber.on('error', () => {})
    subscriber.on('ready', () => {
      subscriber
        .subscribe(this.channel)
        .then(() => {
          for (const change of ALL_CHANGES) this.deliver(change)
        })
        .catch((err: unknown) => this.log.warn({ err }, 'could not subscribe to alerting changes'))
    })
    subscriber.on('message', (channel, raw) => {
      if (channel !== this.channel) return
      let message: ChangeMessage
      try {
        message = JSON.parse(raw) as ChangeMessage
      } catch {
        return
      }
      if (message.from === this.origin || !ALL_CHANGES.includes(message.change)) return
      this.deliver(message.change)
    })
    subscriber.connect().catch(() => {})
  }

  stop(): void {
    this.subscriber?.disconnect()
    this.subscriber = null
  }

  private deliver(change: AlertChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change)
      } catch (err) {
        this.log.error({ err, change }, 'an alerting change listener failed')
      }
    }
  }
}
