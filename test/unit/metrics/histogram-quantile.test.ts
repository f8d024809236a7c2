import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createMetrics } from '../../../server/metrics/definitions.js'
import { bucketDelta, histogramQuantile, type Buckets } from '../../../server/metrics/histogram-quantile.js'
import { aggregateBuckets } from '../../../server/metrics/registry-reading.js'

const TENTHS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, Infinity]

/** Cumulative buckets of `values` over `bounds`, as a Prometheus histogram holds them. */
function bucketsOf(values: number[], bounds: number[]): Buckets {
  return { upperBounds: bounds, counts: bounds.map((b) => values.filter((v) => v <= b).length) }
}

describe('histogramQuantile', () => {
  it('recovers the quantiles of a uniform distribution exactly', () => {
    const uniform = Array.from({ length: 1000 }, (_, i) => (i + 1) / 1000)
    const buckets = bucketsOf(uniform, TENTHS)
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.5, 10)
    expect(histogramQuantile(0.95, buckets)).toBeCloseTo(0.95, 10)
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(0.99, 10)
  })

  it('interpolates inside the bucket that holds the rank, the first bucket starting at 0', () => {
    // 100 observations, all in (0.2, 0.3]: the median is halfway through that bucket.
    expect(histogramQuantile(0.5, bucketsOf(Array(100).fill(0.25), TENTHS))).toBeCloseTo(0.25, 10)
    // 10 observations in the first bucket: p50 is half of its upper bound.
    expect(histogramQuantile(0.5, bucketsOf(Array(10).fill(0.01), TENTHS))).toBeCloseTo(0.05, 10)
  })

  it('answers the highest finite bound when the quantile lies in the +Inf bucket', () => {
    const mostlySlow = [...Array(10).fill(0.05), ...Array(90).fill(7)]
    expect(histogramQuantile(0.95, bucketsOf(mostlySlow, TENTHS))).toBe(1)
  })

  it('is null without observations', () => {
    expect(histogramQuantile(0.95, bucketsOf([], TENTHS))).toBeNull()
    expect(histogramQuantile(0.95, { upperBounds: [], counts: [] })).toBeNull()
  })

  it('always lands inside the bucket that holds the exact sample quantile', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.constantFrom(0.5, 0.9, 0.95, 0.99),
        (values, q) => {
          const sorted = [...values].sort((a, b) => a - b)
          const exact = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!
          const estimate = histogramQuantile(q, bucketsOf(values, TENTHS))!
          const upper = TENTHS.find((b) => exact <= b)!
          const lower = TENTHS[TENTHS.indexOf(upper) - 1] ?? 0
          expect(estimate).toBeGreaterThanOrEqual(lower - 1e-9)
          expect(estimate).toBeLessThanOrEqual(upper + 1e-9)
        },
      ),
    )
  })
})

describe('bucket deltas from a prom-client histogram', () => {
  it('measures only what was observed after the baseline', async () => {
    const metrics = createMetrics({ instanceId: 't', defaultMetrics: false })
    const labels = { method: 'GET', route: '/a', status_code: '200' }
    for (let i = 0; i < 100; i++) metrics.httpRequestDuration.observe(labels, 4) // old, slow traffic
    const baseline = aggregateBuckets(await metrics.httpRequestDuration.get())
    // New traffic, uniform over (0, 0.5]: its lower half on /a, its upper half on /b.
    for (let i = 1; i <= 50; i++) metrics.httpRequestDuration.observe(labels, i / 200)
    for (let i = 51; i <= 100; i++) metrics.httpRequestDuration.observe({ ...labels, route: '/b' }, i / 200)
    const delta = bucketDelta(aggregateBuckets(await metrics.httpRequestDuration.get()), baseline)
    expect(delta.counts.at(-1)).toBe(100)
    // Aggregated over both routes, half the new observations are <= 0.25 s (a bucket bound).
    expect(histogramQuantile(0.5, delta)).toBeCloseTo(0.25, 10)
    expect(histogramQuantile(0.99, delta)!).toBeLessThanOrEqual(0.5)
  })

  it('treats a counter that went backwards as a reset and counts from zero', () => {
    const before = { upperBounds: [1, Infinity], counts: [10, 10] }
    const after = { upperBounds: [1, Infinity], counts: [2, 3] }
    expect(bucketDelta(after, before)).toEqual(after)
  })
})
