import type { SampleDetail } from './sampler.js'
import type { Snapshot } from './snapshot.js'

/** Where /api/performance starts recommending something. */
export const THRESHOLDS = {
  memoryUsageRatio: 0.8,
  cpuUsageRatio: 0.7,
  diskUsageRatio: 0.9,
  cacheHitRatio: 0.7,
  httpLatencyP95Seconds: 0.5,
} as const

export interface Recommendation {
  area: 'system' | 'http' | 'cache' | 'database' | 'chat'
  signal: string
  value: number
  threshold: number
  message: string
}

export interface PerformanceSummary {
  at: number
  instance: string
  system: {
    cpuUsageRatio: number | null
    memoryUsageRatio: number | null
    memoryUsedBytes: number | null
    memoryLimitBytes: number | null
    memoryLimitSource: 'cgroup' | 'host' | null
    disk: Array<{ mount: string; usageRatio: number }>
    eventLoopDelayP99Seconds: number | null
    processRssBytes: number | null
    heapUsedBytes: number | null
    heapTotalBytes: number | null
  }
  http: {
    requestsPerSecond: number | null
    errorRatio: number | null
    latencyP50Seconds: number | null
    latencyP95Seconds: number | null
    latencyP99Seconds: number | null
  }
  cache: Array<{ cacheType: string; hitRatio: number | null }>
  database: { queryP95Seconds: number | null; pool: { total: number; idle: number; waiting: number } | null }
  chat: {
    requestsPerSecond: number | null
    cachedRatio: number | null
    ttftP95Seconds: number | null
    outputTokensPerSecond: number | null
  }
  recommendations: Recommendation[]
}

const percent = (ratio: number) => `${Math.round(ratio * 100)} %`

/** Plain-words advice for every threshold the summary crosses; empty when all is well. */
export function recommend(summary: Omit<PerformanceSummary, 'recommendations'>): Recommendation[] {
  const out: Recommendation[] = []
  const add = (area: Recommendation['area'], signal: string, value: number, threshold: number, message: string) =>
    out.push({ area, signal, value, threshold, message })
  const { system, http, cache } = summary

  const memory = system.memoryUsageRatio
  if (memory !== null && memory > THRESHOLDS.memoryUsageRatio) {
    const of = system.memoryLimitSource === 'cgroup' ? 'the container limit' : 'the host'
    add(
      'system',
      'system_memory_usage_ratio',
      memory,
      THRESHOLDS.memoryUsageRatio,
      `Memory use is ${percent(memory)} of ${of}: lower CACHE_L1_MAX_BYTES, look for a leak in the process RSS, or give the instance more memory.`,
    )
  }
  const cpu = system.cpuUsageRatio
  if (cpu !== null && cpu > THRESHOLDS.cpuUsageRatio) {
    add(
      'system',
      'system_cpu_usage_ratio',
      cpu,
      THRESHOLDS.cpuUsageRatio,
      `CPU use is ${percent(cpu)}: add instances or cores, and check whether requests bypass the response cache.`,
    )
  }
  for (const { mount, usageRatio } of system.disk) {
    if (usageRatio <= THRESHOLDS.diskUsageRatio) continue
    add(
      'system',
      'system_disk_usage_ratio',
      usageRatio,
      THRESHOLDS.diskUsageRatio,
      `The disk holding the data directory (${mount}) is ${percent(usageRatio)} full: free space, purge old analytics events, or VACUUM to reclaim dead rows.`,
    )
  }
  for (const { cacheType, hitRatio } of cache) {
    if (hitRatio === null || hitRatio >= THRESHOLDS.cacheHitRatio) continue
    add(
      'cache',
      'cache_hit_ratio',
      hitRatio,
      THRESHOLDS.cacheHitRatio,
      `Only ${percent(hitRatio)} of ${cacheType} cache lookups hit: raise its TTL or the L1 size, or warm the cache; add Redis (REDIS_URL) if entries are evicted early.`,
    )
  }
  const p95 = http.latencyP95Seconds
  if (p95 !== null && p95 > THRESHOLDS.httpLatencyP95Seconds) {
    add(
      'http',
      'http_latency_p95_seconds',
      p95,
      THRESHOLDS.httpLatencyP95Seconds,
      `The slowest 5 % of requests take over ${Math.round(p95 * 1000)} ms: check the database query p95 and the slow-query log, the cache hit ratio, and the chat provider's time to first token.`,
    )
  }
  return out
}

/** The performance summary from the latest snapshot and what that tick measured. */
export function summarize(snapshot: Snapshot, detail: SampleDetail | null): PerformanceSummary {
  const value = (name: string) =>
    snapshot.signals.find((s) => s.name === name && Object.keys(s.labels).length === 0)?.value ?? null
  const memory = detail?.system.memory ?? null
  const base: Omit<PerformanceSummary, 'recommendations'> = {
    at: snapshot.at,
    instance: snapshot.instance,
    system: {
      cpuUsageRatio: value('system_cpu_usage_ratio'),
      memoryUsageRatio: value('system_memory_usage_ratio'),
      memoryUsedBytes: memory?.usedBytes ?? null,
      memoryLimitBytes: memory?.limitBytes ?? null,
      memoryLimitSource: memory?.source ?? null,
      disk: snapshot.signals
        .filter((s) => s.name === 'system_disk_usage_ratio' && s.value !== null)
        .map((s) => ({ mount: s.labels.mount ?? '', usageRatio: s.value! })),
      eventLoopDelayP99Seconds: value('event_loop_delay_p99_seconds'),
      processRssBytes: value('process_rss_bytes'),
      heapUsedBytes: detail?.system.heapUsedBytes ?? null,
      heapTotalBytes: detail?.system.heapTotalBytes ?? null,
    },
    http: {
      requestsPerSecond: value('http_requests_per_second'),
      errorRatio: value('http_error_ratio'),
      latencyP50Seconds: value('http_latency_p50_seconds'),
      latencyP95Seconds: value('http_latency_p95_seconds'),
      latencyP99Seconds: value('http_latency_p99_seconds'),
    },
    cache: snapshot.signals
      .filter((s) => s.name === 'cache_hit_ratio')
      .map((s) => ({ cacheType: s.labels.cache_type ?? '', hitRatio: s.value })),
    database: { queryP95Seconds: value('db_query_p95_seconds'), pool: detail?.pool ?? null },
    chat: {
      requestsPerSecond: value('chat_requests_per_second'),
      cachedRatio: detail?.chatCachedRatio ?? null,
      ttftP95Seconds: value('chat_ttft_p95_seconds'),
      outputTokensPerSecond: value('chat_tokens_per_second'),
    },
  }
  return { ...base, recommendations: recommend(base) }
}
