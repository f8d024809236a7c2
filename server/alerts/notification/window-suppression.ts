import { createHash } from 'node:crypto'
import type { Transaction } from 'kysely'
import type { SuppressedNotification } from '../../../alerts/evaluate.js'
import { planNotifications, type PlannedNotification, type Receiver } from '../../../alerts/routing.js'
import type { Database } from '../../db/schema.js'
import { outboxRowOf } from './outbox-repository.js'

/** A notification a maintenance window held back, planned for a receiver as if it were sent. */
export interface SuppressedPlan extends PlannedNotification {
  window: SuppressedNotification['window']
}

export function isSuppressedPlan(plan: PlannedNotification): plan is SuppressedPlan {
  return 'window' in plan
}

/**
 * What maintenance windows held back, recorded once per window occurrence, receiver and
 * alert (a tick repeats what the previous one held back; `recorded` remembers it in memory,
 * the idempotency key makes another leader's copy a no-op).
 */
export class WindowSuppressions {
  private readonly recorded = new Map<string, number>()

  plan(suppressed: readonly SuppressedNotification[], receivers: readonly Receiver[], now: number): SuppressedPlan[] {
    for (const [key, end] of this.recorded) if (end <= now) this.recorded.delete(key)
    const plans: SuppressedPlan[] = []
    const byWindow = new Map<string, SuppressedNotification[]>()
    for (const s of suppressed) {
      const key = `${s.window.id}:${s.window.start}`
      byWindow.set(key, [...(byWindow.get(key) ?? []), s])
    }
    for (const group of byWindow.values()) {
      const window = group[0]!.window
      for (const plan of planNotifications(
        group.map((s) => s.notification),
        receivers,
      )) {
        const fresh = plan.alerts.filter((a) => !this.recorded.has(keyOf(window, plan.receiver.id, a.fingerprint)))
        if (fresh.length) plans.push({ ...plan, alerts: fresh, window })
      }
    }
    return plans
  }

  async record(trx: Transaction<Database>, plans: readonly SuppressedPlan[], externalURL: string, now: number) {
    for (const plan of plans) {
      const fingerprints = plan.alerts.map((a) => a.fingerprint).sort()
      const idempotencyKey = createHash('sha256')
        .update(`suppressed:${plan.window.id}:${plan.window.start}:${plan.receiver.id}:${fingerprints.join(',')}`)
        .digest('hex')
      await trx
        .insertInto('notification_outbox')
        .values({
          ...outboxRowOf(plan, externalURL, now),
          idempotency_key: idempotencyKey,
          status: 'suppressed',
          window_id: plan.window.id,
          next_attempt_at: new Date(now),
          expires_at: new Date(plan.window.end),
          created_at: new Date(now),
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .execute()
    }
  }

  /** The transaction committed: these are recorded. */
  committed(plans: readonly SuppressedPlan[]): void {
    for (const plan of plans)
      for (const a of plan.alerts)
        this.recorded.set(keyOf(plan.window, plan.receiver.id, a.fingerprint), plan.window.end)
  }
}

function keyOf(window: SuppressedNotification['window'], receiverId: string, fingerprint: string): string {
  return `${window.id}:${window.start}:${receiverId}:${fingerprint}`
}
