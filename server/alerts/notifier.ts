import type { Transaction } from 'kysely'
import type { EvaluationResult } from '../../alerts/evaluate.js'
import type { PlannedNotification } from '../../alerts/routing.js'
import type { Database } from '../db/schema.js'

/**
 * The seam between the two halves of alerting: evaluation/ hands every evaluation to a
 * Notifier and imports nothing else of notification/. An evaluation is handed over in steps so
 * that alert state and outbox are written in one transaction, and so that a tick with nothing
 * to say opens none: plan() works from memory only.
 */
export interface Notifier {
  /** Loads what plan() needs (the receivers) into memory; the evaluator calls it when it loads, on becoming leader. */
  load(): Promise<void>
  /**
   * Resolves once a reload of what plan() needs, started by a change (a receiver added a moment
   * ago), has finished: the evaluator waits for it, so an evaluation never plans with the
   * receivers from before a change the API has already answered for.
   */
  idle(): Promise<void>
  /** What the receivers should get from this evaluation, planned from memory (no database read). */
  plan(result: EvaluationResult, now: number): PlannedNotification[]
  /** Queues the plans in the evaluation's transaction. */
  enqueue(trx: Transaction<Database>, plans: readonly PlannedNotification[], now: number): Promise<void>
  /** The transaction committed: deliver what it queued. */
  committed(plans: readonly PlannedNotification[]): void
}
