/**
 * The sampler's output, once per SAMPLE_INTERVAL_MS: what the alert engine evaluates, the
 * series store keeps and the live hub sends. Signal names and units: DESIGN.md "Signals".
 */
export type Labels = Record<string, string>

export interface SignalSample {
  name: string
  labels: Labels
  /** null when there is nothing to measure (a ratio without traffic). */
  value: number | null
}

export interface Snapshot {
  /** Epoch milliseconds of the tick. */
  at: number
  /** INSTANCE_ID of the instance that sampled. */
  instance: string
  signals: SignalSample[]
}

export type SeriesPoint = [at: number, value: number | null]

export interface SeriesLine {
  name: string
  labels: Labels
  points: SeriesPoint[]
}

/** Read side of the in-memory series (ring buffer per signal + label set). */
export interface SeriesReader {
  /** Every line of `name` whose labels include `matchers`, with points at or after `sinceMs`. */
  query(name: string, matchers?: Labels, sinceMs?: number): SeriesLine[]
  /** Names of every signal held. */
  names(): string[]
}

/** Stable key of a label set: sorted, so {a,b} and {b,a} are the same series. */
export function labelsKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')
}
