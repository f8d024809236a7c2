import { allMatch, type LabelMatcher, type Labels } from './labels.js'

/** A silence stops notifications for the alerts it matches between `startsAt` and `endsAt`. */
export interface Silence {
  id: string
  matchers: LabelMatcher[]
  /** Epoch milliseconds. */
  startsAt: number
  endsAt: number
}

export function isSilenceActive(silence: Silence, now: number): boolean {
  return silence.startsAt <= now && now < silence.endsAt
}

/** Ids of the silences that cover an alert with these labels at `now`. */
export function silencesCovering(labels: Labels, silences: readonly Silence[], now: number): string[] {
  return silences
    .filter((s) => s.matchers.length > 0 && isSilenceActive(s, now) && allMatch(s.matchers, labels))
    .map((s) => s.id)
}

/**
 * True when the matchers select every one of `alerts` (the current alerts and the ones each
 * rule would raise): a silence that mutes everything, which must be asked for explicitly.
 */
export function matchesEverything(matchers: readonly LabelMatcher[], alerts: readonly Labels[]): boolean {
  return alerts.length > 0 && alerts.every((labels) => allMatch(matchers, labels))
}

/** The labels every alert of a rule carries, whatever its signal's labels. */
export function ruleAlertLabels(rule: { name: string; severity: string; labels?: Labels }): Labels {
  return { ...rule.labels, alertname: rule.name, severity: rule.severity }
}
