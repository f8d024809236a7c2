import type { Metrics } from './definitions.js'
import type { Buckets } from './histogram-quantile.js'

/** Hits and misses of one cache layer. */
export interface LayerCounts {
  hit: number
  miss: number
}

/**
 * The cumulative registry values the signals are computed from, summed over label sets
 * where a signal does not keep the label. Two readings subtract into a window's activity.
 */
export interface RegistryReading {
  httpRequests: number
  httpServerErrors: number
  httpDuration: Buckets
  dbDuration: Buckets
  chatRequests: number
  chatCachedRequests: number
  chatOutputTokens: number
  chatTimeToFirstToken: Buckets
  /** cache_type → layer → hits and misses. */
  cache: Record<string, Record<string, LayerCounts>>
  /** health_check_up as last set by the health-check job; absent until a component was checked. */
  healthUp: Array<{ component: string; value: number; upstream?: string }>
  /** upstream_model_healthy_deployments per public model of the pool. */
  modelHealthy: Array<{ model: string; value: number }>
}

// Structural views of prom-client's `get()` results, wide enough for every metric's labels.
type AnyLabels = Record<string, string | number | undefined>
interface CounterValues {
  values: Array<{ value: number; labels: AnyLabels }>
}
interface HistogramValues {
  values: Array<{ value: number; metricName?: string; labels: AnyLabels }>
}

const sum = (values: CounterValues, where: (labels: AnyLabels) => boolean = () => true) =>
  values.values.reduce((total, v) => (where(v.labels) ? total + v.value : total), 0)

/** Bucket counts summed over every label set of a histogram. */
export function aggregateBuckets(histogram: HistogramValues): Buckets {
  const byBound = new Map<number, number>()
  for (const v of histogram.values) {
    if (!v.metricName?.endsWith('_bucket')) continue
    const le = v.labels.le
    const bound = le === '+Inf' ? Infinity : Number(le)
    byBound.set(bound, (byBound.get(bound) ?? 0) + v.value)
  }
  const upperBounds = [...byBound.keys()].sort((a, b) => a - b)
  return { upperBounds, counts: upperBounds.map((b) => byBound.get(b)!) }
}

export async function readRegistry(metrics: Metrics): Promise<RegistryReading> {
  const [httpTotal, httpDuration, dbDuration, chatTotal, chatTokens, ttft, cacheRequests, healthUp] = await Promise.all(
    [
      metrics.httpRequestsTotal.get(),
      metrics.httpRequestDuration.get(),
      metrics.databaseQueryDuration.get(),
      metrics.chatRequestsTotal.get(),
      metrics.chatTokensTotal.get(),
      metrics.chatTimeToFirstToken.get(),
      metrics.cacheRequestsTotal.get(),
      metrics.healthCheckUp.get(),
    ],
  )
  const [upstreamUp, modelHealthy] = await Promise.all([metrics.upstreamUp.get(), metrics.upstreamModelHealthy.get()])
  const cache: RegistryReading['cache'] = {}
  for (const v of cacheRequests.values) {
    const type = String(v.labels.cache_type ?? '')
    const layer = String(v.labels.layer ?? '')
    const result = v.labels.result
    if (result !== 'hit' && result !== 'miss') continue
    const counts = ((cache[type] ??= {})[layer] ??= { hit: 0, miss: 0 })
    counts[result] += v.value
  }
  return {
    httpRequests: sum(httpTotal),
    httpServerErrors: sum(httpTotal, (l) => String(l.status_code).startsWith('5')),
    httpDuration: aggregateBuckets(httpDuration),
    dbDuration: aggregateBuckets(dbDuration),
    chatRequests: sum(chatTotal),
    chatCachedRequests: sum(chatTotal, (l) => l.cached === 'true'),
    chatOutputTokens: sum(chatTokens, (l) => l.direction === 'output'),
    chatTimeToFirstToken: aggregateBuckets(ttft),
    cache,
    healthUp: [
      ...healthUp.values.map((v) => ({ component: String(v.labels.component), value: v.value })),
      // Each pool upstream's last /models probe: health_up{component="upstream", upstream}.
      ...upstreamUp.values.map((v) => ({ component: 'upstream', upstream: String(v.labels.upstream), value: v.value })),
    ],
    modelHealthy: modelHealthy.values.map((v) => ({ model: String(v.labels.model), value: v.value })),
  }
}
