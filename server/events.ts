import { EventEmitter } from 'node:events'
import type { AlertEvent } from './alerts/types.js'
import type { AuditEntry } from './db/schema.js'
import type { JobEvent } from './jobs/types.js'
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
  /** An alert changed state or was acknowledged (server/alerts). */
  alert: [AlertEvent]
  /** A job run started, progressed or finished (server/jobs). */
  job: [JobEvent]
}

export type AppEventName = keyof AppEventMap
/** Any one event, named: what an observer of every event receives. */
export type AnyAppEvent = { [K in AppEventName]: { name: K; payload: AppEventMap[K][0] } }[AppEventName]

export class AppEvents extends EventEmitter<AppEventMap> {
  private readonly observers = new Set<(event: AnyAppEvent) => void>()

  /**
   * Sees every event, whatever its name, so that the live hub forwards event names added
   * later without a change of its own. Returns the unsubscribe.
   */
  observeAll(observer: (event: AnyAppEvent) => void): () => void {
    this.observers.add(observer)
    return () => this.observers.delete(observer)
  }

  override emit<K extends AppEventName>(eventName: K, ...args: AppEventMap[K]): boolean {
    for (const observer of this.observers) observer({ name: eventName, payload: args[0] } as AnyAppEvent)
    return super.emit(eventName as AppEventName, ...(args as never))
  }
}
