/**
 * Cumulative histogram buckets, as Prometheus exposes them: `counts[i]` observations were
 * <= `upperBounds[i]`. The last bound is +Infinity.
 */
export interface Buckets {
  upperBounds: number[]
  counts: number[]
}

/**
 * The q-quantile (0..1) of a histogram, interpolated linearly inside the bucket that holds it,
 * exactly as PromQL's histogram_quantile does: the first bucket starts at 0, and a quantile
 * that falls in the +Inf bucket is the highest finite bound. Null when nothing was observed.
 */
export function histogramQuantile(q: number, buckets: Buckets): number | null {
  const { upperBounds, counts } = buckets
  const total = counts.at(-1) ?? 0
  if (!(total > 0) || upperBounds.length === 0) return null
  const rank = q * total
  let index = counts.findIndex((count) => count >= rank)
  if (index === -1) index = counts.length - 1
  const upper = upperBounds[index]!
  if (upper === Infinity) return index > 0 ? upperBounds[index - 1]! : null
  const lower = index > 0 ? upperBounds[index - 1]! : Math.min(0, upper)
  const below = index > 0 ? counts[index - 1]! : 0
  const inBucket = counts[index]! - below
  if (inBucket <= 0) return upper
  return lower + (upper - lower) * ((rank - below) / inBucket)
}

/** current − baseline per bucket; a counter that went backwards (registry reset) counts from zero. */
export function bucketDelta(current: Buckets, baseline: Buckets | null): Buckets {
  if (!baseline || !sameBounds(current, baseline)) return current
  const counts = current.counts.map((count, i) => count - baseline.counts[i]!)
  if (counts.some((c) => c < 0)) return current
  return { upperBounds: current.upperBounds, counts }
}

function sameBounds(a: Buckets, b: Buckets): boolean {
  return a.upperBounds.length === b.upperBounds.length && a.upperBounds.every((bound, i) => bound === b.upperBounds[i])
}

export const emptyBuckets = (): Buckets => ({ upperBounds: [], counts: [] })
