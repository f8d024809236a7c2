import type { Kysely, Selectable, Transaction } from 'kysely'
import type { Severity } from '../../../alerts/rule.js'
import type { AlertState, Transition } from '../../../alerts/state.js'
import type { AlertStatesTable, Database } from '../../db/schema.js'

type StateRow = Selectable<AlertStatesTable>
const ms = (date: Date | null) => (date ? date.getTime() : null)
const date = (value: number | null) => (value === null ? null : new Date(value))

export function stateFromRow(row: StateRow): AlertState {
  return {
    fingerprint: row.fingerprint,
    rule: row.rule_name,
    severity: row.severity as Severity,
    labels: row.labels,
    annotations: row.annotations,
    state: row.state,
    value: row.value,
    activeSince: row.active_since.getTime(),
    firingSince: ms(row.firing_since),
    keepFiringSince: ms(row.keep_firing_since),
    lastNotifiedAt: ms(row.last_notified_at),
    ack: row.ack_by && row.ack_at ? { by: row.ack_by, at: row.ack_at.getTime(), comment: row.ack_comment ?? '' } : null,
  }
}

/** The engine's columns; acknowledgements are written only by acknowledge(). */
function evaluatedColumns(state: AlertState, now: Date) {
  return {
    rule_name: state.rule,
    severity: state.severity,
    labels: JSON.stringify(state.labels),
    annotations: JSON.stringify(state.annotations),
    state: state.state,
    value: state.value,
    active_since: new Date(state.activeSince),
    firing_since: date(state.firingSince),
    keep_firing_since: date(state.keepFiringSince),
    last_notified_at: date(state.lastNotifiedAt),
    updated_at: now,
  }
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  if (a === b) return true
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k])
}

/** Equal in every column the engine writes (the acknowledgement aside). */
function sameEvaluation(a: AlertState, b: AlertState): boolean {
  return (
    a.rule === b.rule &&
    a.severity === b.severity &&
    a.state === b.state &&
    Object.is(a.value, b.value) &&
    a.activeSince === b.activeSince &&
    a.firingSince === b.firingSince &&
    a.keepFiringSince === b.keepFiringSince &&
    a.lastNotifiedAt === b.lastNotifiedAt &&
    sameRecord(a.labels, b.labels) &&
    sameRecord(a.annotations, b.annotations)
  )
}

export interface StateChanges {
  /** New states and states the evaluation changed (acknowledgements aside). */
  changed: AlertState[]
  /** Fingerprints of the alerts that are no longer pending or firing. */
  ended: string[]
}

/** What an evaluation changed in the states it started from: what saveEvaluation writes. */
export function stateChanges(before: readonly AlertState[], after: readonly AlertState[]): StateChanges {
  const previous = new Map(before.map((s) => [s.fingerprint, s]))
  const changed = after.filter((s) => {
    const old = previous.get(s.fingerprint)
    return !old || !sameEvaluation(old, s)
  })
  const current = new Set(after.map((s) => s.fingerprint))
  const ended = before.filter((s) => !current.has(s.fingerprint)).map((s) => s.fingerprint)
  return { changed, ended }
}

/** alert_states (current pending and firing alerts) and alert_events (their history). */
export class AlertStateStore {
  constructor(private readonly db: Kysely<Database>) {}

  async load(): Promise<AlertState[]> {
    const rows = await this.db
      .selectFrom('alert_states')
      .selectAll()
      .orderBy('active_since')
      .orderBy('fingerprint')
      .execute()
    return rows.map(stateFromRow)
  }

  async get(fingerprint: string): Promise<AlertState | null> {
    const row = await this.db
      .selectFrom('alert_states')
      .selectAll()
      .where('fingerprint', '=', fingerprint)
      .executeTakeFirst()
    return row ? stateFromRow(row) : null
  }

  /**
   * Writes one evaluation inside the caller's transaction: changed and new states, the ones
   * that ended (see stateChanges), and every transition. An acknowledgement written meanwhile
   * is kept, because updates never touch the ack columns.
   */
  async saveEvaluation(
    trx: Transaction<Database>,
    changes: StateChanges,
    transitions: readonly Transition[],
    now: Date,
  ): Promise<void> {
    for (const state of changes.changed) {
      const columns = evaluatedColumns(state, now)
      await trx
        .insertInto('alert_states')
        .values({ fingerprint: state.fingerprint, ...columns })
        .onConflict((oc) => oc.column('fingerprint').doUpdateSet(columns))
        .execute()
    }
    if (changes.ended.length) await trx.deleteFrom('alert_states').where('fingerprint', 'in', changes.ended).execute()
    if (transitions.length) {
      await trx
        .insertInto('alert_events')
        .values(
          transitions.map((t) => ({
            at: new Date(t.at),
            fingerprint: t.fingerprint,
            rule_name: t.rule,
            severity: t.severity,
            from_state: t.from,
            to_state: t.to,
            value: t.value,
            labels: JSON.stringify(t.labels),
            annotations: JSON.stringify(t.annotations),
          })),
        )
        .execute()
    }
  }

  /** Records who acknowledged an active alert, and the acknowledgement in its history. Null when it is not active. */
  async acknowledge(fingerprint: string, ack: { by: string; comment: string; at: Date }): Promise<AlertState | null> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('alert_states')
        .set({ ack_by: ack.by, ack_comment: ack.comment, ack_at: ack.at })
        .where('fingerprint', '=', fingerprint)
        .returningAll()
        .executeTakeFirst()
      if (!row) return null
      await trx
        .insertInto('alert_events')
        .values({
          at: ack.at,
          fingerprint,
          rule_name: row.rule_name,
          severity: row.severity,
          from_state: row.state,
          to_state: 'acknowledged',
          value: row.value,
          labels: JSON.stringify(row.labels),
          annotations: JSON.stringify(row.annotations),
          detail: JSON.stringify({ by: ack.by, comment: ack.comment }),
        })
        .execute()
      return stateFromRow(row)
    })
  }
}
