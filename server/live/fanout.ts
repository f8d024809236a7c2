import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { EventMessage } from '../contract/live.js'

/** What travels on the channel: the event and the hub that published it. */
interface Envelope {
  origin: string
  message: EventMessage
}

/**
 * Events of every instance for every instance's dashboards, over Redis pub/sub. Each hub
 * delivers its own events locally at once and publishes them; received envelopes that carry
 * its own `origin` are dropped, so no dashboard sees an event twice.
 */
export class RedisFanout {
  private subscriber: Redis | null = null
  private lastPublishError = 0

  constructor(
    private readonly redis: Redis,
    private readonly channel: string,
    /** Unique per hub (not per INSTANCE_ID, which two processes may share by mistake). */
    private readonly origin: string,
    private readonly deliver: (message: EventMessage) => void,
    private readonly log: FastifyBaseLogger,
  ) {}

  async start(): Promise<void> {
    // A subscribing connection cannot run other commands, hence its own; it queues the
    // SUBSCRIBE while Redis is down and re-subscribes after every reconnect.
    const subscriber = this.redis.duplicate({
      lazyConnect: true,
      enableOfflineQueue: true,
      commandTimeout: undefined,
      connectionName: undefined,
    })
    this.subscriber = subscriber
    subscriber.on('error', (err) => this.log.debug({ err }, 'live: redis subscriber error'))
    subscriber.on('message', (channel, text) => {
      if (channel === this.channel) this.receive(text)
    })
    try {
      await subscriber.connect()
      await subscriber.subscribe(this.channel)
    } catch (err) {
      this.log.warn({ err }, 'live: redis unreachable; events of other instances arrive once it is back')
      subscriber.subscribe(this.channel).catch(() => {})
    }
  }

  publish(message: EventMessage): void {
    const envelope: Envelope = { origin: this.origin, message }
    this.redis.publish(this.channel, JSON.stringify(envelope)).catch((err: unknown) => {
      // One warning per minute at most while Redis is down.
      const now = Date.now()
      if (now - this.lastPublishError > 60_000)
        this.log.warn({ err }, 'live: could not publish an event to other instances')
      this.lastPublishError = now
    })
  }

  async stop(): Promise<void> {
    const subscriber = this.subscriber
    this.subscriber = null
    if (!subscriber) return
    if (subscriber.status === 'ready') await subscriber.quit().catch(() => subscriber.disconnect())
    else subscriber.disconnect()
  }

  private receive(text: string): void {
    let envelope: Envelope
    try {
      envelope = JSON.parse(text) as Envelope
    } catch (err) {
      this.log.warn({ err }, 'live: ignoring a malformed message on the events channel')
      return
    }
    if (envelope.origin === this.origin || typeof envelope.message?.type !== 'string') return
    this.deliver(envelope.message)
  }
}
