import type { FastifyBaseLogger } from 'fastify'
import type { Transaction } from 'kysely'
import type { EvaluationResult } from '../../../alerts/evaluate.js'
import {
  ALERTMANAGER_RESEND_MS,
  planNotifications,
  planResends,
  type PlannedNotification,
  type Receiver,
} from '../../../alerts/routing.js'
import type { Database } from '../../db/schema.js'
import type { Notifier } from '../notifier.js'
import type { Outbox } from './outbox-repository.js'
import { toRoutingReceiver, type ReceiverStore } from './receiver-repository.js'
import { isSuppressedPlan, WindowSuppressions, type SuppressedPlan } from './window-suppression.js'

export interface OutboxNotifierOptions {
  receivers: ReceiverStore
  outbox: Outbox
  log: FastifyBaseLogger
  /** Only the leader plans (and so keeps receivers in memory). */
  isLeader: () => boolean
  /** Called after notifications were committed to the outbox (wakes the delivery worker). */
  onEnqueued: () => void
  /** Links in the bodies of what maintenance windows hold back (as the outbox renders them). */
  externalURL: string
}

/**
 * The notification half's side of the seam: routes each evaluation to the enabled receivers
 * kept in memory (loaded with the evaluator's working set, reloaded when receivers change),
 * and queues the result in the outbox inside the evaluation's transaction.
 */
export class OutboxNotifier implements Notifier {
  private receivers: Receiver[] = []
  private readonly lastResend = new Map<string, number>()
  private reloading: Promise<void> | null = null
  private reloadAgain = false
  private readonly suppressions = new WindowSuppressions()

  constructor(private readonly options: OutboxNotifierOptions) {}

  async load(): Promise<void> {
    this.receivers = (await this.options.receivers.list()).filter((r) => r.enabled).map(toRoutingReceiver)
  }

  /** Receivers changed: reload them (on the leader; others load when they take over). */
  onReceiversChanged(): void {
    if (!this.options.isLeader()) return
    if (this.reloading) {
      this.reloadAgain = true
      return
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false
        await this.load().catch((err: unknown) =>
          this.options.log.error({ err }, 'reloading alert receivers failed; notifications use the previous ones'),
        )
      } while (this.reloadAgain)
    })().finally(() => (this.reloading = null))
  }

  /** Resolves when no reload is in progress. */
  async idle(): Promise<void> {
    while (this.reloading) await this.reloading
  }

  plan(result: EvaluationResult, now: number): PlannedNotification[] {
    const firing = result.states.some((s) => s.state === 'firing')
    if (!result.notifications.length && !firing) return []
    return [
      ...planNotifications(result.notifications, this.receivers),
      ...this.resends(result, now),
      ...this.suppressions.plan(result.suppressed, this.receivers, now),
    ]
  }

  async enqueue(trx: Transaction<Database>, plans: readonly PlannedNotification[], now: number): Promise<void> {
    const { outbox } = this.options
    const due: PlannedNotification[] = []
    const suppressed: SuppressedPlan[] = []
    for (const plan of plans) {
      if (isSuppressedPlan(plan)) {
        suppressed.push(plan)
        continue
      }
      // A resend only keeps alerts alive; while the Alertmanager is unreachable, one queued is enough.
      if (plan.reason === 'resend' && (await outbox.hasPending(plan.receiver.id, trx))) continue
      due.push(plan)
    }
    await outbox.enqueue(trx, due, now)
    await this.suppressions.record(trx, suppressed, this.options.externalURL, now)
  }

  committed(plans: readonly PlannedNotification[]): void {
    this.suppressions.committed(plans.filter(isSuppressedPlan))
    if (plans.some((p) => !isSuppressedPlan(p))) this.options.onEnqueued()
  }

  /** Alertmanager receivers hear about every firing alert once a resend interval. */
  private resends(result: EvaluationResult, now: number): PlannedNotification[] {
    const plans: PlannedNotification[] = []
    const notifiedNow = new Set(result.notifications.map((n) => n.fingerprint))
    for (const receiver of this.receivers) {
      if (receiver.kind !== 'alertmanager') continue
      const last = this.lastResend.get(receiver.id)
      if (last !== undefined && now - last < ALERTMANAGER_RESEND_MS) continue
      const plan = planResends(result.states, receiver, notifiedNow)
      this.lastResend.set(receiver.id, now)
      if (plan) plans.push(plan)
    }
    return plans
  }
}
