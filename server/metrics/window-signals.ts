import { bucketDelta, histogramQuantile, type Buckets } from './histogram-quantile.js'
import type { TimedReading } from './reading-window.js'
import type { LayerCounts } from './registry-reading.js'
import type { SignalSample } from './snapshot.js'

const signal = (name: string, value: number | null, labels: Record<string, string> = {}): SignalSample => ({
  name,
  labels,
  value,
})

/** current − baseline of a counter; one that went backwards (registry reset) counts from zero. */
const counterDelta = (current: number, baseline: number | undefined) =>
  baseline === undefined || current < baseline ? current : current - baseline

/**
 * Hit ratio of one cache namespace over the window. A lookup consults L1, then L2, and
 * cache_requests_total gets one increment per layer consulted, so a lookup is answered when
 * any layer hits and unanswered when the last layer consulted misses: the last layer (by
 * name, l1 < l2) that saw lookups in the window counts the misses. Null without lookups.
 */
export function cacheHitRatio(
  current: Record<string, LayerCounts>,
  baseline: Record<string, LayerCounts> | undefined,
): number | null {
  let hits = 0
  let lastLayerMisses = 0
  for (const layer of Object.keys(current).sort()) {
    const hit = counterDelta(current[layer]!.hit, baseline?.[layer]?.hit)
    const miss = counterDelta(current[layer]!.miss, baseline?.[layer]?.miss)
    hits += hit
    if (hit + miss > 0) lastLayerMisses = miss
  }
  const lookups = hits + lastLayerMisses
  return lookups > 0 ? hits / lookups : null
}

/**
 * The signals computed from the registry over the sliding window (README "Metrics", the signal table):
 * rates, ratios and percentiles of what happened between `baseline` and `current`. Without
 * a baseline (the first reading) nothing can be said about a window: every value is null.
 */
export function windowSignals(current: TimedReading, baseline: TimedReading | null): SignalSample[] {
  const now = current.reading
  const then = baseline?.reading
  const seconds = baseline ? (current.at - baseline.at) / 1000 : 0
  const rate = (cur: number, base: number | undefined) =>
    then && seconds > 0 ? counterDelta(cur, base) / seconds : null
  const quantile = (q: number, cur: Buckets, base: Buckets | undefined) =>
    then ? histogramQuantile(q, bucketDelta(cur, base ?? null)) : null

  const requests = then ? counterDelta(now.httpRequests, then.httpRequests) : 0
  const serverErrors = then ? counterDelta(now.httpServerErrors, then.httpServerErrors) : 0

  const signals = [
    signal('http_requests_per_second', rate(now.httpRequests, then?.httpRequests)),
    signal('http_error_ratio', requests > 0 ? Math.min(1, serverErrors / requests) : null),
    signal('http_latency_p50_seconds', quantile(0.5, now.httpDuration, then?.httpDuration)),
    signal('http_latency_p95_seconds', quantile(0.95, now.httpDuration, then?.httpDuration)),
    signal('http_latency_p99_seconds', quantile(0.99, now.httpDuration, then?.httpDuration)),
    signal('db_query_p95_seconds', quantile(0.95, now.dbDuration, then?.dbDuration)),
    signal('chat_requests_per_second', rate(now.chatRequests, then?.chatRequests)),
    signal('chat_ttft_p95_seconds', quantile(0.95, now.chatTimeToFirstToken, then?.chatTimeToFirstToken)),
    signal('chat_tokens_per_second', rate(now.chatOutputTokens, then?.chatOutputTokens)),
  ]
  for (const cacheType of Object.keys(now.cache).sort()) {
    const ratio = then ? cacheHitRatio(now.cache[cacheType]!, then.cache[cacheType]) : null
    signals.push(signal('cache_hit_ratio', ratio, { cache_type: cacheType }))
  }
  for (const { component, upstream, value } of now.healthUp)
    signals.push(signal('health_up', value, upstream === undefined ? { component } : { component, upstream }))
  for (const { model, value } of now.modelHealthy)
    signals.push(signal('upstream_healthy_deployments', value, { model }))
  return signals
}

/** Share of chat requests answered from the cache over the window (for /api/performance). */
export function chatCachedRatio(current: TimedReading, baseline: TimedReading | null): number | null {
  if (!baseline) return null
  const requests = counterDelta(current.reading.chatRequests, baseline.reading.chatRequests)
  return requests > 0
    ? counterDelta(current.reading.chatCachedRequests, baseline.reading.chatCachedRequests) / requests
    : null
}
