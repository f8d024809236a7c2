import type { Labels } from './labels.js'
import type { Severity } from './rule.js'

/** Only pending and firing alerts have state; inactive ones are simply absent. */
export type ActiveState = 'pending' | 'firing'

export interface Acknowledgement {
  by: string
  /** Epoch milliseconds. */
  at: number
  comment: string
}

/** One alert: a rule and one label set of its signal. Times are epoch milliseconds. */
export interface AlertState {
  fingerprint: string
  rule: string
  severity: Severity
  /** alertname, severity, the rule's labels and the sample's labels. */
  labels: Labels
  annotations: Record<string, string>
  state: ActiveState
  value: number | null
  /** When the condition became true in this episode (start of pending). */
  activeSince: number
  firingSince: number | null
  /** When the condition turned false while firing (keepFiringFor counts from here), else null. */
  keepFiringSince: number | null
  /** Last firing or repeat notification of this episode; null until one is sent. */
  lastNotifiedAt: number | null
  ack: Acknowledgement | null
}

export type TransitionTarget = 'pending' | 'firing' | 'inactive' | 'resolved'

export interface Transition {
  fingerprint: string
  rule: string
  severity: Severity
  labels: Labels
  annotations: Record<string, string>
  from: 'inactive' | ActiveState
  to: TransitionTarget
  value: number | null
  at: number
}

/** An alert that receivers should hear about now. */
export interface AlertNotification {
  fingerprint: string
  rule: string
  severity: Severity
  status: 'firing' | 'resolved'
  /** firing: first notice of this episode; repeat: repeatInterval elapsed; resolved: it is over. */
  reason: 'firing' | 'repeat' | 'resolved'
  labels: Labels
  annotations: Record<string, string>
  value: number | null
  startsAt: number
  /** When it resolved; null while firing. */
  endsAt: number | null
}
