/** Small, dependency-free statistics for round results. */

export function median(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (finite.length === 0) return Number.NaN
  const mid = Math.floor(finite.length / 2)
  return finite.length % 2 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2
}

/** Nearest-rank percentile of unsorted values (q in 0..100). */
export function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1))
  return sorted[rank]!
}

export function mean(values: number[]): number {
  if (values.length === 0) return Number.NaN
  let sum = 0
  for (const v of values) sum += v
  return sum / values.length
}

export interface Distribution {
  count: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

export function distribution(values: number[]): Distribution {
  return {
    count: values.length,
    mean: mean(values),
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: values.length ? values.reduce((m, v) => (v > m ? v : m), -Infinity) : Number.NaN,
  }
}
