import type { Kysely, Selectable } from 'kysely'
import type { AlertEventsTable, Database } from '../../db/schema.js'

export type AlertEventRow = Selectable<AlertEventsTable>

export interface HistoryFilter {
  limit: number
  /** Keyset: only events with a smaller id (pass the last id of the previous page). */
  before?: string
  rule?: string
  fingerprint?: string
  state?: AlertEventRow['to_state']
  severity?: string
  since?: Date
  until?: Date
}

/** alert_events, newest first. */
export async function listHistory(db: Kysely<Database>, filter: HistoryFilter): Promise<AlertEventRow[]> {
  let query = db.selectFrom('alert_events').selectAll().orderBy('id', 'desc').limit(filter.limit)
  if (filter.before) query = query.where('id', '<', filter.before)
  if (filter.rule) query = query.where('rule_name', '=', filter.rule)
  if (filter.fingerprint) query = query.where('fingerprint', '=', filter.fingerprint)
  if (filter.state) query = query.where('to_state', '=', filter.state)
  if (filter.severity) query = query.where('severity', '=', filter.severity)
  if (filter.since) query = query.where('at', '>=', filter.since)
  if (filter.until) query = query.where('at', '<', filter.until)
  return query.execute()
}
