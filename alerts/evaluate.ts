import { durationMs } from './duration.js'
import { fingerprint, includesLabels, sortLabels, type Labels } from './labels.js'
import { RULE_DEFAULTS, type AlertRule, type Comparison } from './rule.js'
import { windowCovering, type ActiveWindow } from './maintenance.js'
import { silencesCovering, type Silence } from './silence.js'
import type { AlertNotification, AlertState, Transition } from './state.js'
import { expandTemplate } from './template.js'
import { aggregateOverWindow, type SeriesSource } from './window.js'

export type { AlertNotification, AlertState, Transition } from './state.js'

/** The part of a sampler snapshot the engine reads. */
export interface SnapshotInput {
  signals: ReadonlyArray<{ name: string; labels: Labels; value: number | null }>
}

export interface EvaluationContext {
  /** Active or not: the engine checks start and end against `now`. */
  silences?: readonly Silence[]
  /** Needed by rules with `over`; without it they read the latest sample. */
  series?: SeriesSource
  /** Maintenance windows under way at `now` (alerts/maintenance.ts activeWindows). */
  windows?: readonly ActiveWindow[]
}

/** A notification a maintenance window held back: the alert stays un-notified, so it is sent once the window ends. */
export interface SuppressedNotification {
  notification: AlertNotification
  window: { id: string; start: number; end: number }
}

export interface EvaluationResult {
  /** Every pending or firing alert after this evaluation. */
  states: AlertState[]
  transitions: Transition[]
  notifications: AlertNotification[]
  suppressed: SuppressedNotification[]
}

const COMPARE: Record<Comparison, (value: number, threshold: number) => boolean> = {
  '>': (v, t) => v > t,
  '>=': (v, t) => v >= t,
  '<': (v, t) => v < t,
  '<=': (v, t) => v <= t,
  '==': (v, t) => v === t,
  '!=': (v, t) => v !== t,
}

/**
 * One evaluation of every rule against a snapshot: inactive → pending (condition true,
 * `for` not yet elapsed) → firing → resolved (condition false for `keepFiringFor`). One
 * alert per matching label set. Silences and acknowledgements hold back notifications, never
 * state changes. Pure: the caller supplies the time, the samples and the previous state.
 */
export function evaluate(
  rules: readonly AlertRule[],
  snapshot: SnapshotInput,
  previous: readonly AlertState[],
  now: number,
  context: EvaluationContext = {},
): EvaluationResult {
  const previousByFingerprint = new Map(previous.map((s) => [s.fingerprint, s]))
  const next = new Map<string, AlertState>()
  const result: EvaluationResult = { states: [], transitions: [], notifications: [], suppressed: [] }
  const enabled = new Map(rules.filter((r) => r.enabled).map((r) => [r.name, r]))
  // Parsed once per evaluation and only for rules with alerts, not once per alert.
  const timings = new Map<string, RuleTiming>()
  const timing = (rule: AlertRule) => {
    let known = timings.get(rule.name)
    if (!known) timings.set(rule.name, (known = timingOf(rule)))
    return known
  }
  const visited = new Set<string>()

  const bySignal = new Map<string, Array<SnapshotInput['signals'][number]>>()
  for (const sample of snapshot.signals) {
    const list = bySignal.get(sample.name)
    if (list) list.push(sample)
    else bySignal.set(sample.name, [sample])
  }
  const rulesWithState = new Set(previous.map((s) => s.rule))

  for (const rule of enabled.values()) {
    const samples = bySignal.get(rule.signal)
    if (!samples) continue
    const active = rulesWithState.has(rule.name)
    // Nothing active and nothing true: nothing to do (and no label set to build for each sample).
    if (!active && !samples.some((sample) => holdsFor(rule, sample, context.series, now).holds)) continue
    for (const sample of samples) {
      const { value, holds, matches } = holdsFor(rule, sample, context.series, now)
      if (!matches) continue
      const labels = sortLabels({ ...sample.labels, ...rule.labels, alertname: rule.name, severity: rule.severity })
      const id = fingerprint(labels)
      // A label set seen twice in one snapshot counts once.
      if (visited.has(id)) continue
      visited.add(id)
      const state = advance(
        rule,
        timing(rule),
        previousByFingerprint.get(id),
        { id, labels, value, holds, now },
        result,
      )
      previousByFingerprint.delete(id)
      if (state) next.set(id, state)
    }
  }

  // Alerts whose series is gone (or whose rule was removed or disabled) have no true condition.
  for (const state of previousByFingerprint.values()) {
    const rule = enabled.get(state.rule)
    const after = rule
      ? advance(
          rule,
          timing(rule),
          state,
          { id: state.fingerprint, labels: state.labels, value: state.value, holds: false, now },
          result,
        )
      : end(state, now, result)
    if (after) next.set(state.fingerprint, after)
  }

  for (const state of next.values()) {
    if (state.state === 'firing')
      notifyIfDue(state, enabled.has(state.rule) ? timing(enabled.get(state.rule)!) : undefined, context, now, result)
    result.states.push(state)
  }
  return result
}

/** The rule's value for a sample and whether its condition holds; never holds for a sample its matchers exclude. */
function holdsFor(
  rule: AlertRule,
  sample: SnapshotInput['signals'][number],
  series: SeriesSource | undefined,
  now: number,
): { value: number | null; holds: boolean; matches: boolean } {
  if (!includesLabels(sample.labels, rule.matchers)) return NOT_MATCHED
  const value = readValue(rule, sample, series, now)
  const holds = value !== null && Number.isFinite(value) && COMPARE[rule.op](value, rule.threshold)
  return { value, holds, matches: true }
}

const NOT_MATCHED = Object.freeze({ value: null, holds: false, matches: false })

function readValue(
  rule: AlertRule,
  sample: SnapshotInput['signals'][number],
  series: SeriesSource | undefined,
  now: number,
): number | null {
  if (!rule.over || !series) return sample.value
  return aggregateOverWindow(series, rule.signal, sample.labels, rule.over.fn, durationMs(rule.over.window), now)
}

interface Observation {
  id: string
  labels: Labels
  value: number | null
  holds: boolean
  now: number
}

interface RuleTiming {
  forMs: number
  keepFiringForMs: number
  repeatIntervalMs: number
}

function timingOf(rule: AlertRule): RuleTiming {
  return {
    forMs: durationMs(rule.for, 0),
    keepFiringForMs: durationMs(rule.keepFiringFor, 0),
    repeatIntervalMs: durationMs(rule.repeatInterval ?? RULE_DEFAULTS.repeatInterval),
  }
}

function advance(
  rule: AlertRule,
  timing: RuleTiming,
  previous: AlertState | undefined,
  seen: Observation,
  result: EvaluationResult,
): AlertState | null {
  const { now } = seen
  const { forMs } = timing
  if (!previous) {
    if (!seen.holds) return null
    const fresh: AlertState = {
      fingerprint: seen.id,
      rule: rule.name,
      severity: rule.severity,
      labels: seen.labels,
      annotations: renderAnnotations(rule, seen),
      state: forMs === 0 ? 'firing' : 'pending',
      value: seen.value,
      activeSince: now,
      firingSince: forMs === 0 ? now : null,
      keepFiringSince: null,
      lastNotifiedAt: null,
      ack: null,
    }
    result.transitions.push(transition(fresh, 'inactive', fresh.state, now))
    return fresh
  }
  if (seen.holds) {
    const updated: AlertState = {
      ...previous,
      annotations: renderAnnotations(rule, seen),
      value: seen.value,
      keepFiringSince: null,
    }
    if (previous.state === 'pending' && now - previous.activeSince >= forMs) {
      updated.state = 'firing'
      updated.firingSince = now
      result.transitions.push(transition(updated, 'pending', 'firing', now))
    }
    return updated
  }
  if (previous.state === 'pending') return end({ ...previous, value: seen.value }, now, result)
  const keepFiringSince = previous.keepFiringSince ?? now
  if (now - keepFiringSince >= timing.keepFiringForMs) return end({ ...previous, value: seen.value }, now, result)
  return { ...previous, value: seen.value, keepFiringSince }
}

/** Ends an alert's episode: pending ones just go inactive, firing ones resolve. */
function end(state: AlertState, now: number, result: EvaluationResult): null {
  if (state.state === 'pending') {
    result.transitions.push(transition(state, 'pending', 'inactive', now))
    return null
  }
  result.transitions.push(transition(state, 'firing', 'resolved', now))
  // Whoever heard it fire hears it end, even if it was silenced or acknowledged since.
  if (state.lastNotifiedAt !== null) result.notifications.push(notification(state, 'resolved', now))
  return null
}

function notifyIfDue(
  state: AlertState,
  timing: RuleTiming | undefined,
  context: EvaluationContext,
  now: number,
  result: EvaluationResult,
): void {
  if (state.ack || silencesCovering(state.labels, context.silences ?? [], now).length > 0) return
  const repeatMs = timing?.repeatIntervalMs ?? durationMs(RULE_DEFAULTS.repeatInterval)
  if (state.lastNotifiedAt !== null && now - state.lastNotifiedAt < repeatMs) return
  const due = notification(state, state.lastNotifiedAt === null ? 'firing' : 'repeat', now)
  const window = context.windows?.length ? windowCovering(state.labels, context.windows) : null
  if (window) {
    // lastNotifiedAt stays: the first tick after the window notifies what is still firing.
    result.suppressed.push({ notification: due, window: { id: window.windowId, start: window.start, end: window.end } })
    return
  }
  result.notifications.push(due)
  state.lastNotifiedAt = now
}

function renderAnnotations(rule: AlertRule, seen: Observation): Record<string, string> {
  const data = { value: seen.value, labels: seen.labels }
  return Object.fromEntries(
    Object.entries(rule.annotations).map(([key, template]) => [key, expandTemplate(template, data)]),
  )
}

function transition(state: AlertState, from: Transition['from'], to: Transition['to'], at: number): Transition {
  const { fingerprint: id, rule, severity, labels, annotations, value } = state
  return { fingerprint: id, rule, severity, labels, annotations, from, to, value, at }
}

function notification(state: AlertState, reason: AlertNotification['reason'], now: number): AlertNotification {
  const { fingerprint: id, rule, severity, labels, annotations, value } = state
  const status = reason === 'resolved' ? 'resolved' : 'firing'
  return {
    fingerprint: id,
    rule,
    severity,
    status,
    reason,
    labels,
    annotations,
    value,
    startsAt: state.firingSince ?? state.activeSince,
    endsAt: status === 'resolved' ? now : null,
  }
}
