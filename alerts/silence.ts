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
