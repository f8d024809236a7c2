import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import { evaluate, type EvaluationResult } from '../../alerts/evaluate.js'
import type { AlertState, Transition } from '../../alerts/state.js'
import type { SeriesSource } from '../../alerts/window.js'
import type { Database } from '../db/schema.js'
import type { AppEvents } from '../events.js'
import type { Metrics } from '../metrics/definitions.js'
import type { Snapshot } from '../metrics/snapshot.js'
import type { Outbox } from './outbox.js'
import type { ReceiverRow, ReceiverStore } from './receiver-store.js'
import { ALERTMANAGER_RESEND_MS, planNotifications, planResends, type PlannedNotification } from './routing.js'
import type { RuleStore } from './rule-store.js'
import type { SilenceStore } from './silence-store.js'
import type { AlertStateStore } from './state-store.js'
import type { AlertEvent } from './types.js'

export interface EvaluatorOptions {
  db: Kysely<Database>
  rules: RuleStore
  states: AlertStateStore
  silences: SilenceStore
  receivers: ReceiverStore
  outbox: Outbox
  series: SeriesSource
  metrics: Metrics
  events: AppEvents
  log: FastifyBaseLogger
  /** Only the leader evaluates (fleet mode); one instance alone always leads. */
  isLeader: () => boolean
  /** Called after notifications were committed to the outbox (wakes the delivery worker). */
  onEnqueued: () => void
}

/**
 * Runs the pure engine on every sampler snapshot and makes its result durable: state,
 * history and outbox in one transaction, then the alerts_active gauge and 'alert' events.
 * Evaluations never overlap; snapshots arriving meanwhile collapse into the latest.
 */
export class AlertEvaluator {
  private queued: Snapshot | null = null
  private chain: Promise<void> = Promise.resolve()
  private readonly lastResend = new Map<string, number>()

  constructor(private readonly options: EvaluatorOptions) {}

  onSnapshot(snapshot: Snapshot): void {
    const waiting = this.queued !== null
    this.queued = snapshot
    if (waiting) return
    this.chain = this.chain.then(async () => {
      const next = this.queued!
      this.queued = null
      try {
        await this.evaluateSnapshot(next)
      } catch (err) {
        this.options.log.error({ err }, 'alert evaluation failed; the next snapshot retries')
      }
    })
  }

  /** Resolves once every snapshot received so far has been evaluated. */
  async idle(): Promise<void> {
    let current: Promise<void>
    do {
      current = this.chain
      await current
    } while (current !== this.chain)
  }

  async evaluateSnapshot(snapshot: Snapshot): Promise<EvaluationResult | null> {
    const { options } = this
    if (!options.isLeader()) {
      options.metrics.alertsActive.reset()
      return null
    }
    const now = snapshot.at
    const [rules, silences, before] = await Promise.all([
      options.rules.list(),
      options.silences.current(now),
      options.states.load(),
    ])
    const result = evaluate(rules, snapshot, before, now, { silences, series: options.series })
    const firing = result.states.some((s) => s.state === 'firing')
    const receivers =
      result.notifications.length || firing ? (await options.receivers.list()).filter((r) => r.enabled) : []
    const plans = [
      ...planNotifications(result.notifications, receivers),
      ...(await this.resends(result.states, receivers, now, result)),
    ]
    if (before.length || result.states.length || plans.length) {
      await options.db.transaction().execute(async (trx) => {
        await options.states.saveEvaluation(trx, before, result.states, result.transitions, new Date(now))
        await options.outbox.enqueue(trx, plans, now)
      })
    }
    this.updateGauge(result.states)
    for (const transition of result.transitions) options.events.emit('alert', toEvent(transition))
    if (plans.length) options.onEnqueued()
    return result
  }

  private async resends(
    states: AlertState[],
    receivers: ReceiverRow[],
    now: number,
    result: EvaluationResult,
  ): Promise<PlannedNotification[]> {
    const plans: PlannedNotification[] = []
    const notifiedNow = new Set(result.notifications.map((n) => n.fingerprint))
    for (const receiver of receivers) {
      if (receiver.kind !== 'alertmanager') continue
      const last = this.lastResend.get(receiver.id)
      if (last !== undefined && now - last < ALERTMANAGER_RESEND_MS) continue
      // A resend only keeps alerts alive; while the Alertmanager is unreachable, one queued is enough.
      if (await this.options.outbox.hasPending(receiver.id)) continue
      const plan = planResends(states, receiver, notifiedNow)
      this.lastResend.set(receiver.id, now)
      if (plan) plans.push(plan)
    }
    return plans
  }

  private updateGauge(states: readonly AlertState[]): void {
    const gauge = this.options.metrics.alertsActive
    gauge.reset()
    for (const s of states) gauge.inc({ alertname: s.rule, severity: s.severity, state: s.state })
  }
}

export function toEvent(t: Transition): AlertEvent {
  return {
    fingerprint: t.fingerprint,
    rule: t.rule,
    severity: t.severity,
    labels: t.labels,
    annotations: t.annotations,
    from: t.from,
    to: t.to,
    value: t.value,
    at: new Date(t.at).toISOString(),
  }
}
