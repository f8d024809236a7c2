import { evaluate } from './evaluate.js'
import type { Labels } from './labels.js'
import type { AlertRule } from './rule.js'
import type { AlertState, Transition } from './state.js'
import type { SeriesSource } from './window.js'

export interface FiringInterval {
  fingerprint: string
  labels: Labels
  firedAt: number
  /** null when still firing at the end of the range. */
  resolvedAt: number | null
}

export interface BacktestResult {
  /** Sample times replayed. */
  evaluations: number
  transitions: Transition[]
  firing: FiringInterval[]
}

/**
 * Replays a rule over the stored samples of its signal in `[from, to]`, one evaluation per
 * sample time, as the live engine would have run it: when would it have fired and resolved?
 */
export function backtest(rule: AlertRule, series: SeriesSource, from: number, to: number): BacktestResult {
  const lines = series.query(rule.signal, rule.matchers, from)
  const byTime = new Map<number, Array<{ name: string; labels: Labels; value: number | null }>>()
  for (const line of lines) {
    for (const [at, value] of line.points) {
      if (at < from || at > to) continue
      const samples = byTime.get(at) ?? []
      samples.push({ name: rule.signal, labels: line.labels, value })
      byTime.set(at, samples)
    }
  }
  const times = [...byTime.keys()].sort((a, b) => a - b)
  let states: AlertState[] = []
  const transitions: Transition[] = []
  const open = new Map<string, FiringInterval>()
  const firing: FiringInterval[] = []
  const live = { ...rule, enabled: true }
  for (const at of times) {
    const step = evaluate([live], { signals: byTime.get(at)! }, states, at, { series })
    states = step.states
    for (const t of step.transitions) {
      transitions.push(t)
      if (t.to === 'firing') {
        const interval = { fingerprint: t.fingerprint, labels: t.labels, firedAt: t.at, resolvedAt: null }
        open.set(t.fingerprint, interval)
        firing.push(interval)
      } else if (t.to === 'resolved') {
        const interval = open.get(t.fingerprint)
        if (interval) interval.resolvedAt = t.at
        open.delete(t.fingerprint)
      }
    }
  }
  return { evaluations: times.length, transitions, firing }
}
