import type { Migration } from 'kysely'
import * as foundation from './2026_11_20_0001_foundation.js'
import * as alerts from './2026_11_21_0500_alerts.js'
import * as jobs from './2026_11_21_0600_jobs.js'
import * as dashboardSessions from './2026_11_22_0100_dashboard_sessions.js'
import * as tokenScopes from './2026_12_04_0100_token_scopes.js'
import * as chatScope from './2026_12_04_0200_chat_scope.js'
import * as usageRollup from './2026_12_04_0400_usage_rollup.js'
import * as projects from './2026_12_06_0100_projects.js'
import * as upstreamStates from './2026_12_06_0200_upstream_states.js'
import * as usageUpstream from './2026_12_06_0210_usage_upstream.js'
import * as receiverKinds from './2026_12_06_0400_receiver_kinds.js'
import * as maintenanceWindows from './2026_12_06_0500_maintenance_windows.js'
import * as idempotencyKeys from './2026_12_06_0600_idempotency_keys.js'

/**
 * Every migration, in order. Names are timestamps so they sort; a migration is frozen once
 * it has landed. Later features append theirs here.
 */
export const migrations: Record<string, Migration> = {
  '2026_11_20_0001_foundation': foundation,
  '2026_11_21_0500_alerts': alerts,
  '2026_11_21_0600_jobs': jobs,
  '2026_11_22_0100_dashboard_sessions': dashboardSessions,
  '2026_12_04_0100_token_scopes': tokenScopes,
  '2026_12_04_0200_chat_scope': chatScope,
  '2026_12_04_0400_usage_rollup': usageRollup,
  '2026_12_06_0100_projects': projects,
  '2026_12_06_0200_upstream_states': upstreamStates,
  '2026_12_06_0210_usage_upstream': usageUpstream,
  '2026_12_06_0400_receiver_kinds': receiverKinds,
  '2026_12_06_0500_maintenance_windows': maintenanceWindows,
  '2026_12_06_0600_idempotency_keys': idempotencyKeys,
}
