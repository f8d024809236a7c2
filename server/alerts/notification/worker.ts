import type { FastifyBaseLogger } from 'fastify'
import type { Metrics } from '../../metrics/definitions.js'
import { retryDelayMs, type DeliveryResult } from './delivery.js'
import { receiverKinds, type Transports } from './kinds/index.js'
import { Outbox, type OutboxRow } from './outbox-repository.js'
import { toRoutingReceiver, type ReceiverStore } from './receiver-repository.js'

export interface DeliverySettings {
  timeoutMs: number
  retryBaseMs: number
  retryMaxDelayMs: number
  pollMs: number
}

export interface WorkerOptions {
  outbox: Outbox
  receivers: ReceiverStore
  metrics: Metrics
  log: FastifyBaseLogger
  settings: DeliverySettings
  /** HTTP and SMTP (both through the receiver address policy). */
  transports: Transports
  /** Only the leader delivers (fleet mode); one instance alone always leads. */
  isLeader: () => boolean
  clock?: () => number
}

const BATCH = 20

/**
 * Delivers the outbox: at once when kicked (new notifications), and every pollMs for retries
 * that came due. Each attempt's outcome is written back before the next run.
 */
export class DeliveryWorker {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | null = null
  private again = false
  private readonly clock: () => number

  constructor(private readonly options: WorkerOptions) {
    this.clock = options.clock ?? Date.now
  }

  start(): void {
    this.stop()
    this.timer = setInterval(() => this.kick(), this.options.settings.pollMs)
    this.timer.unref()
    this.kick()
  }

  /** Stops the timer and waits for the attempts in flight to be recorded. */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    this.again = false
    await this.running
  }

  /** Runs now, or right after the run in progress. */
  kick(): void {
    if (this.running) {
      this.again = true
      return
    }
    this.running = this.drain().finally(() => {
      this.running = null
    })
  }

  /** Resolves when no run is in progress. */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }

  private async drain(): Promise<void> {
    do {
      this.again = false
      try {
        while ((await this.runOnce()) === BATCH);
      } catch (err) {
        this.options.log.error({ err }, 'alert delivery run failed')
      }
    } while (this.again && this.timer)
  }

  /** One pass over the due notifications; returns how many it attempted. */
  async runOnce(now = this.clock()): Promise<number> {
    if (!this.options.isLeader()) return 0
    const rows = await this.options.outbox.claimDue(now, BATCH, this.leaseMs())
    await Promise.all(rows.map((row) => this.attempt(row)))
    return rows.length
  }

  /** Attempts one notification now, due or not (a receiver's test); null if it is not pending. */
  async deliverNow(id: string): Promise<OutboxRow | null> {
    const [row] = await this.options.outbox.claimDue(this.clock(), 1, this.leaseMs(), id)
    if (row) await this.attempt(row)
    return this.options.outbox.get(id)
  }

  /** How long a claimed notification stays away from other workers while it is attempted. */
  leaseMs(): number {
    return this.options.settings.timeoutMs + 10_000
  }

  /** A notification that failed for good goes to the receiver's fallback, marked with its id. */
  private async fallBack(row: OutboxRow, fallbackId: string, now: number): Promise<void> {
    const { outbox, receivers, log } = this.options
    const fallback = await receivers.get(fallbackId)
    if (!fallback?.enabled) return
    const [id] = await outbox.enqueue(outbox.database, [Outbox.replan(row, toRoutingReceiver(fallback))], now, {
      fallbackFor: row.id,
    })
    log.info(
      { notification: row.id, fallback: fallback.name, fallbackNotification: id },
      'alert notification sent to the fallback receiver',
    )
    this.kick()
  }

  private async attempt(row: OutboxRow): Promise<void> {
    const { outbox, receivers, settings, metrics, log, transports } = this.options
    const receiver = row.receiver_id ? await receivers.get(row.receiver_id) : null
    const result: DeliveryResult = receiver
      ? await receiverKinds[receiver.kind].send(
          {
            url: row.url,
            body: row.body,
            idempotencyKey: row.idempotency_key,
            secret: receiver.secret,
            credential: receiver.credential,
            receiver,
            now: this.clock(),
          },
          transports,
        )
      : { outcome: 'failed', statusCode: null, error: 'the receiver was deleted', retryAfterMs: null }
    const now = this.clock()
    const attempts = row.attempts + 1
    const context = { notification: row.id, receiver: row.receiver_name, attempts, statusCode: result.statusCode }
    if (result.outcome === 'delivered') {
      await outbox.recordOutcome(row.id, {
        status: 'delivered',
        attempts,
        error: null,
        statusCode: result.statusCode,
        deliveredAt: new Date(now),
      })
      metrics.alertNotificationsTotal.inc({ receiver: row.receiver_name, status: 'delivered' })
      return
    }
    const next = now + retryDelayMs(attempts, settings, result.retryAfterMs)
    if (result.outcome === 'failed' || next > row.expires_at.getTime()) {
      const error = result.outcome === 'failed' ? result.error : `gave up after ${attempts} attempts: ${result.error}`
      await outbox.recordOutcome(row.id, { status: 'failed', attempts, error, statusCode: result.statusCode })
      metrics.alertNotificationsTotal.inc({ receiver: row.receiver_name, status: 'failed' })
      log.warn({ ...context, error }, 'alert notification failed for good')
      if (receiver?.fallback_id) await this.fallBack(row, receiver.fallback_id, now)
      return
    }
    await outbox.recordOutcome(row.id, {
      status: 'pending',
      attempts,
      nextAttemptAt: new Date(next),
      error: result.error,
      statusCode: result.statusCode,
    })
    metrics.alertNotificationsTotal.inc({ receiver: row.receiver_name, status: 'retry' })
    log.warn({ ...context, error: result.error, retryInMs: next - now }, 'alert notification not delivered; will retry')
  }
}
