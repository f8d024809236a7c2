import { randomUUID } from 'node:crypto'
import type { Kysely, Selectable, Transaction } from 'kysely'
import { groupKey, groupLabelsOf, type PayloadAlert } from '../../../alerts/payload.js'
import { renderRequest, type PlannedNotification, type Receiver } from '../../../alerts/routing.js'
import type { Database, NotificationOutboxTable } from '../../db/schema.js'

export type OutboxRow = Selectable<NotificationOutboxTable>
export type OutboxStatus = OutboxRow['status']

export interface NotificationFilter {
  limit: number
  before?: string
  status?: OutboxStatus
  receiver?: string
}

/**
 * notification_outbox: notifications are written in the transaction that changes the alert
 * state, and leave only when a receiver took them (or refused them for good), so that a
 * crash or restart in between loses nothing.
 */
export class Outbox {
  constructor(
    readonly database: Kysely<Database>,
    private readonly settings: { externalURL: string; retryWindowMs: number },
  ) {}

  /**
   * Adds the planned notifications. With a group_wait, a group that has a notification still
   * waiting takes the new alerts into it (the newest state of an alert wins) instead.
   */
  async enqueue(
    trx: Transaction<Database> | Kysely<Database>,
    plans: readonly PlannedNotification[],
    now: number,
    /** Keep the background worker off them this long (a caller that delivers them itself); fallbackFor marks a fallback's. */
    options: { holdMs?: number; fallbackFor?: string } = {},
  ): Promise<string[]> {
    const ids: string[] = []
    for (const plan of plans) {
      const waitMs = plan.receiver.groupWaitMs
      if (waitMs > 0 && plan.reason !== 'test') {
        const merged = await this.mergeIntoWaiting(trx, plan, now)
        if (merged) {
          ids.push(merged)
          continue
        }
      }
      const row = await trx
        .insertInto('notification_outbox')
        .values({
          ...outboxRowOf(plan, this.settings.externalURL, now),
          idempotency_key: randomUUID(),
          status: 'pending',
          next_attempt_at: new Date(now + Math.max(waitMs, options.holdMs ?? 0)),
          expires_at: new Date(now + waitMs + this.settings.retryWindowMs),
          created_at: new Date(now),
          fallback_for: options.fallbackFor ?? null,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      ids.push(row.id)
    }
    return ids
  }

  private async mergeIntoWaiting(
    trx: Transaction<Database> | Kysely<Database>,
    plan: PlannedNotification,
    now: number,
  ): Promise<string | null> {
    const waiting = await trx
      .selectFrom('notification_outbox')
      .select(['id', 'alerts', 'reason'])
      .where('receiver_id', '=', plan.receiver.id)
      .where('group_key', '=', plan.groupKey)
      .where('status', '=', 'pending')
      .where('attempts', '=', 0)
      .where('next_attempt_at', '>', new Date(now))
      .forUpdate()
      .executeTakeFirst()
    if (!waiting) return null
    const byFingerprint = new Map((waiting.alerts as unknown as PayloadAlert[]).map((a) => [a.fingerprint, a]))
    for (const alert of plan.alerts) byFingerprint.set(alert.fingerprint, alert)
    const alerts = [...byFingerprint.values()]
    const reason = [...new Set([...waiting.reason.split(','), ...plan.reason.split(',')])].sort().join(',')
    const { body } = renderRequest({ ...plan, alerts }, this.settings.externalURL, now)
    await trx
      .updateTable('notification_outbox')
      .set({ alerts: JSON.stringify(alerts), body, reason })
      .where('id', '=', waiting.id)
      .execute()
    return waiting.id
  }

  /**
   * Takes up to `limit` due notifications for this worker: their next attempt moves `leaseMs`
   * ahead, so another worker (or this one after a crash) retries them only if this attempt
   * never records its outcome.
   */
  async claimDue(now: number, limit: number, leaseMs: number, onlyId?: string): Promise<OutboxRow[]> {
    return this.database.transaction().execute(async (trx) => {
      let query = trx
        .selectFrom('notification_outbox')
        .select('id')
        .where('status', '=', 'pending')
        .orderBy('next_attempt_at')
        .limit(limit)
        .forUpdate()
        .skipLocked()
      query = onlyId ? query.where('id', '=', onlyId) : query.where('next_attempt_at', '<=', new Date(now))
      const due = await query.execute()
      if (!due.length) return []
      return trx
        .updateTable('notification_outbox')
        .set({ next_attempt_at: new Date(now + leaseMs) })
        .where(
          'id',
          'in',
          due.map((r) => r.id),
        )
        .returningAll()
        .execute()
    })
  }

  async recordOutcome(
    id: string,
    outcome: {
      status: OutboxStatus
      attempts: number
      nextAttemptAt?: Date
      error: string | null
      statusCode: number | null
      deliveredAt?: Date
    },
  ): Promise<void> {
    await this.database
      .updateTable('notification_outbox')
      .set({
        status: outcome.status,
        attempts: outcome.attempts,
        last_error: outcome.error,
        last_status_code: outcome.statusCode,
        ...(outcome.nextAttemptAt ? { next_attempt_at: outcome.nextAttemptAt } : {}),
        ...(outcome.deliveredAt ? { delivered_at: outcome.deliveredAt } : {}),
      })
      .where('id', '=', id)
      .execute()
  }

  /** A stored notification's alerts as a plan for `receiver` (its fallback, or itself again on resend). */
  static replan(row: OutboxRow, receiver: Receiver): PlannedNotification {
    const alerts = row.alerts as unknown as PayloadAlert[]
    const groupLabels = groupLabelsOf(alerts[0]?.labels ?? {}, receiver.groupBy)
    return { receiver, groupLabels, groupKey: groupKey(groupLabels), reason: row.reason, alerts }
  }

  /**
   * A failed notification made pending again, rendered anew for the receiver as it is now (its
   * URL or settings may have been fixed since), with a fresh retry window. Null unless failed.
   */
  async resend(row: OutboxRow, receiver: Receiver, now: number): Promise<OutboxRow | null> {
    const { url, body } = renderRequest(Outbox.replan(row, receiver), this.settings.externalURL, now)
    const updated = await this.database
      .updateTable('notification_outbox')
      .set({
        url,
        body,
        status: 'pending',
        attempts: 0,
        last_error: null,
        last_status_code: null,
        next_attempt_at: new Date(now),
        expires_at: new Date(now + this.settings.retryWindowMs),
        idempotency_key: randomUUID(),
      })
      .where('id', '=', row.id)
      .where('status', '=', 'failed')
      .returningAll()
      .executeTakeFirst()
    return updated ?? null
  }

  async get(id: string): Promise<OutboxRow | null> {
    return (
      (await this.database.selectFrom('notification_outbox').selectAll().where('id', '=', id).executeTakeFirst()) ??
      null
    )
  }

  async hasPending(
    receiverId: string,
    trx: Transaction<Database> | Kysely<Database> = this.database,
  ): Promise<boolean> {
    const row = await trx
      .selectFrom('notification_outbox')
      .select('id')
      .where('receiver_id', '=', receiverId)
      .where('status', '=', 'pending')
      .executeTakeFirst()
    return row !== undefined
  }

  /** Newest first, keyset-paginated on id. */
  async list(filter: NotificationFilter): Promise<OutboxRow[]> {
    let query = this.database.selectFrom('notification_outbox').selectAll().orderBy('id', 'desc').limit(filter.limit)
    if (filter.before) query = query.where('id', '<', filter.before)
    if (filter.status) query = query.where('status', '=', filter.status)
    if (filter.receiver) query = query.where('receiver_name', '=', filter.receiver)
    return query.execute()
  }
}

/** The columns of an outbox row that come from its plan: receiver, rendered request, alerts. */
export function outboxRowOf(plan: PlannedNotification, externalURL: string, now: number) {
  const { url, body } = renderRequest(plan, externalURL, now)
  return {
    receiver_id: plan.receiver.id,
    receiver_name: plan.receiver.name,
    url,
    reason: plan.reason,
    group_key: plan.groupKey,
    alerts: JSON.stringify(plan.alerts),
    body,
  }
}
