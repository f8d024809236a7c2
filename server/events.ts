import { EventEmitter } from 'node:events'
import type { AuditEntry } from './db/schema.js'
import type { Snapshot } from './metrics/snapshot.js'

/**
 * In-process events between features (audit entries, job runs, alert transitions, health
 * changes). The live hub forwards them to dashboards; features never call each other for this.
 * Later features add their event names here.
 */
export interface AppEventMap {
  /** Emitted by the sampler each tick; alerts evaluate it, the live hub sends it. */
  snapshot: [Snapshot]
  audit: [AuditEntry]
  health: [{ component: string; up: boolean; latencyMs: number | null; error?: string }]
}

export class AppEvents extends EventEmitter<AppEventMap> {}
