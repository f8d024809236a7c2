import { sameLabels, type Labels } from './labels.js'

export type Point = readonly [at: number, value: number | null]

/** What the engine needs of the in-memory series; the server's SeriesReader has this shape. */
export interface SeriesSource {
  query(name: string, matchers?: Labels, sinceMs?: number): ReadonlyArray<{ labels: Labels; points: readonly Point[] }>
}

export type WindowFunction = 'avg' | 'max' | 'min'

/**
 * The avg/max/min of one series (exactly these labels) over `(now - windowMs, now]`, ignoring
 * gaps (null). Null when the window holds no value at all.
 */
export function aggregateOverWindow(
  series: SeriesSource,
  name: string,
  labels: Labels,
  fn: WindowFunction,
  windowMs: number,
  now: number,
): number | null {
  const line = series.query(name, labels, now - windowMs).find((l) => sameLabels(l.labels, labels))
  if (!line) return null
  const values: number[] = []
  for (const [at, value] of line.points) {
    if (at > now - windowMs && at <= now && value !== null && Number.isFinite(value)) values.push(value)
  }
  if (values.length === 0) return null
  if (fn === 'max') return Math.max(...values)
  if (fn === 'min') return Math.min(...values)
  return values.reduce((sum, v) => sum + v, 0) / values.length
}
