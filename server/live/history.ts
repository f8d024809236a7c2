import type { SeriesReader } from '../metrics/snapshot.js'
import type { SeriesHistory } from '../contract/live.js'

/**
 * Every line of every signal since `sinceMs`, column-aligned on the union of sample times
 * (lines sampled on the same tick share a column; a line without a sample at a time holds
 * null there).
 */
export function buildHistory(series: SeriesReader, sinceMs: number): SeriesHistory {
  const lines = series.names().flatMap((name) => series.query(name, {}, sinceMs))
  const timeSet = new Set<number>()
  for (const line of lines) for (const [at] of line.points) timeSet.add(at)
  const times = [...timeSet].sort((a, b) => a - b)
  const column = new Map(times.map((at, i) => [at, i]))
  return {
    times,
    lines: lines.map((line) => {
      const values: Array<number | null> = new Array(times.length).fill(null)
      for (const [at, value] of line.points) values[column.get(at)!] = value
      return { name: line.name, labels: line.labels, values }
    }),
  }
}

export const EMPTY_HISTORY: SeriesHistory = { times: [], lines: [] }
