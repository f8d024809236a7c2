import { EventEmitter } from 'node:events'
import type { AlertEvent } from './alerts/evaluation/alert-event.js'
import type { EndedCredentials } from './auth/authenticator.js'
import type { AuditEntry } from './db/schema.js'
import type { JobEvent } from './jobs/types.js'
import type { Snapshot } from './metrics/snapshot.js'

/**
 * In-process events between features (audit entries, job runs, alert transitions, health
 * changes). Features never call each other for this; the live hub maps the ones the contract
 * declares to wire DTOs.
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
  /** A token was revoked or a session signed out, here or on another instance (server/auth); the live hub closes their sockets. */
  'credentials-ended': [EndedCredentials]
}

export type AppEventName = keyof AppEventMap

/** Typed in-process events. The live hub forwards the ones server/contract/live.ts declares. */
export class AppEvents extends EventEmitter<AppEventMap> {}
