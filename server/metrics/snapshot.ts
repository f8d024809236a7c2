/**
 * The sampler's output, once per SAMPLE_INTERVAL_MS: what the alert engine evaluates, the
 * series store keeps and the live hub sends. Signal names and units: server/contract/signals.ts.
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

/** A feature's contribution to each snapshot (jobs → job_failing, live hub → websocket_connections). */
export type SignalSource = (now: number) => SignalSample[]

/**
 * What the metrics feature decorates as `app.sampler` (the implementation lives in
 * server/metrics/sampler.ts). Every tick it builds one Snapshot, appends it to `app.series`
 * and emits `app.events` 'snapshot'.
 */
export interface SamplerHandle {
  addSource(name: string, source: SignalSource): void
  /** The last snapshot, or null before the first tick. */
  latest(): Snapshot | null
  /** Samples now (tests drive the clock through `now`); also what the timer calls. */
  tick(now?: number): Promise<Snapshot>
}

declare module 'fastify' {
  interface FastifyInstance {
    sampler: SamplerHandle
    series: SeriesReader
  }
}
