import type { FastifyBaseLogger } from 'fastify'
import { beforeEach, describe, expect, it } from 'vitest'
import { AppEvents } from '../../../server/events.js'
import { createMetrics, type Metrics } from '../../../server/metrics/definitions.js'
import { Sampler } from '../../../server/metrics/sampler.js'
import { SeriesStore } from '../../../server/metrics/series-store.js'
import { SIGNAL_NAMES } from '../../../server/contract/signals.js'
import type { Snapshot } from '../../../server/metrics/snapshot.js'
import type { SystemReading, SystemSource } from '../../../server/metrics/system-sampler.js'

const T0 = 1_700_000_000_000

const machine: SystemReading = {
  cpuUsageRatio: 0.42,
  memory: { usedBytes: 3, limitBytes: 4, ratio: 0.75, source: 'cgroup' },
  disk: { mount: '/data', usageRatio: 0.5, availableBytes: 50, capacityBytes: 100 },
  eventLoopDelayP99Seconds: 0.012,
  rssBytes: 123_456_789,
  heapUsedBytes: 1,
  heapTotalBytes: 2,
}
const fixedSystem: SystemSource = { read: async () => machine, close: () => {} }

function recordingLogger(records: Array<{ level: string; msg: string }>): FastifyBaseLogger {
  const at = (level: string) => (_obj: unknown, msg?: string) => records.push({ level, msg: msg ?? '' })
  return { warn: at('warn'), error: at('error'), info: at('info'), debug: at('debug') } as unknown as FastifyBaseLogger
}

const value = (snapshot: Snapshot, name: string, labels: Record<string, string> = {}) => {
  const found = snapshot.signals.filter((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))
  expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1)
  return found[0]!.value
}

function sendTraffic(metrics: Metrics): void {
  const ok = { method: 'GET', route: '/api/x', status_code: '200' }
  const failed = { method: 'POST', route: '/api/y', status_code: '500' }
  for (let i = 0; i < 90; i++) {
    metrics.httpRequestsTotal.inc(ok)
    metrics.httpRequestDuration.observe(ok, 0.02)
  }
  for (let i = 0; i < 10; i++) {
    metrics.httpRequestsTotal.inc(failed)
    metrics.httpRequestDuration.observe(failed, 0.2)
  }
  for (let i = 0; i < 20; i++) metrics.databaseQueryDuration.observe({ query_type: 'select', table: 'messages' }, 0.003)
  metrics.chatRequestsTotal.inc({ provider: 'simulated', model: 'sim', cached: 'false', status: 'ok' }, 3)
  metrics.chatRequestsTotal.inc({ provider: 'simulated', model: 'sim', cached: 'true', status: 'ok' }, 1)
  metrics.chatTokensTotal.inc({ provider: 'simulated', model: 'sim', direction: 'output' }, 200)
  metrics.chatTokensTotal.inc({ provider: 'simulated', model: 'sim', direction: 'input' }, 999)
  for (let i = 0; i < 4; i++) metrics.chatTimeToFirstToken.observe({ provider: 'simulated', model: 'sim' }, 0.3)
  // ai_response: 6 L1 hits; 4 L1 misses of which 2 hit L2 and 2 miss it → 8 of 10 answered.
  const cache = (cache_type: string, layer: string, result: string, n: number) =>
    metrics.cacheRequestsTotal.inc({ cache_type, layer, result }, n)
  cache('ai_response', 'l1', 'hit', 6)
  cache('ai_response', 'l1', 'miss', 4)
  cache('ai_response', 'l2', 'hit', 2)
  cache('ai_response', 'l2', 'miss', 2)
  // models, without Redis: 1 hit, 1 miss.
  cache('models', 'l1', 'hit', 1)
  cache('models', 'l1', 'miss', 1)
}

describe('Sampler under a fake clock', () => {
  let metrics: Metrics
  let events: AppEvents
  let series: SeriesStore
  let sampler: Sampler
  let logs: Array<{ level: string; msg: string }>

  beforeEach(() => {
    metrics = createMetrics({ instanceId: 'test', defaultMetrics: false })
    events = new AppEvents()
    series = new SeriesStore({ retentionMs: 3_600_000, intervalMs: 1_000 })
    logs = []
    sampler = new Sampler({
      metrics,
      system: fixedSystem,
      series,
      events,
      instance: 'node-a',
      windowMs: 60_000,
      pool: () => ({ total: 5, idle: 3, waiting: 2 }),
      log: recordingLogger(logs),
    })
  })

  it('has no window on the first tick: rates, ratios and percentiles are null, the machine is measured', async () => {
    const first = await sampler.tick(T0)
    expect(first.at).toBe(T0)
    expect(first.instance).toBe('node-a')
    expect(value(first, 'http_requests_per_second')).toBeNull()
    expect(value(first, 'http_latency_p95_seconds')).toBeNull()
    expect(value(first, 'system_cpu_usage_ratio')).toBe(0.42)
    expect(value(first, 'system_memory_usage_ratio')).toBe(0.75)
    expect(value(first, 'system_disk_usage_ratio', { mount: '/data' })).toBe(0.5)
    expect(value(first, 'event_loop_delay_p99_seconds')).toBe(0.012)
    expect(value(first, 'process_rss_bytes')).toBe(123_456_789)
    expect(value(first, 'db_pool_waiting')).toBe(2)
  })

  it('computes rates, ratios and percentiles from registry deltas over the window', async () => {
    await sampler.tick(T0)
    sendTraffic(metrics)
    const snapshot = await sampler.tick(T0 + 10_000)

    expect(value(snapshot, 'http_requests_per_second')).toBeCloseTo(10, 10)
    expect(value(snapshot, 'http_error_ratio')).toBeCloseTo(0.1, 10)
    // 90 observations in (0.01, 0.025], 10 in (0.1, 0.25]: interpolated as histogram_quantile does.
    expect(value(snapshot, 'http_latency_p50_seconds')).toBeCloseTo(0.01 + 0.015 * (50 / 90), 10)
    expect(value(snapshot, 'http_latency_p95_seconds')).toBeCloseTo(0.1 + 0.15 * 0.5, 10)
    expect(value(snapshot, 'http_latency_p99_seconds')).toBeCloseTo(0.1 + 0.15 * 0.9, 10)
    expect(value(snapshot, 'db_query_p95_seconds')).toBeCloseTo(0.0025 + 0.0025 * 0.95, 10)
    expect(value(snapshot, 'chat_requests_per_second')).toBeCloseTo(0.4, 10)
    expect(value(snapshot, 'chat_tokens_per_second')).toBeCloseTo(20, 10)
    expect(value(snapshot, 'chat_ttft_p95_seconds')).toBeCloseTo(0.25 + 0.25 * 0.95, 10)
    expect(value(snapshot, 'cache_hit_ratio', { cache_type: 'ai_response' })).toBeCloseTo(0.8, 10)
    expect(value(snapshot, 'cache_hit_ratio', { cache_type: 'models' })).toBeCloseTo(0.5, 10)
    expect(sampler.latestDetail()!.chatCachedRatio).toBeCloseTo(0.25, 10)
  })

  it('slides: traffic older than the window no longer counts', async () => {
    await sampler.tick(T0)
    sendTraffic(metrics)
    await sampler.tick(T0 + 10_000)
    await sampler.tick(T0 + 40_000)
    const later = await sampler.tick(T0 + 70_000)
    expect(value(later, 'http_requests_per_second')).toBe(0)
    expect(value(later, 'chat_tokens_per_second')).toBe(0)
    expect(value(later, 'http_error_ratio')).toBeNull()
    expect(value(later, 'http_latency_p95_seconds')).toBeNull()
    expect(value(later, 'cache_hit_ratio', { cache_type: 'ai_response' })).toBeNull()
  })

  it('reports health_up only for components the health check has set', async () => {
    expect((await sampler.tick(T0)).signals.some((s) => s.name === 'health_up')).toBe(false)
    metrics.healthCheckUp.set({ component: 'database' }, 1)
    metrics.healthCheckUp.set({ component: 'redis' }, 0)
    const snapshot = await sampler.tick(T0 + 1_000)
    expect(value(snapshot, 'health_up', { component: 'database' })).toBe(1)
    expect(value(snapshot, 'health_up', { component: 'redis' })).toBe(0)
  })

  it('produces every documented signal once the jobs, live and usage sources are added', async () => {
    sampler.addSource('jobs', () => [{ name: 'job_failing', labels: { job: 'vacuum' }, value: 0 }])
    sampler.addSource('usage', () => [{ name: 'budget_used_ratio', labels: { scope: 'project:a' }, value: 0.5 }])
    sampler.addSource('live', () => [{ name: 'websocket_connections', labels: {}, value: 3 }])
    metrics.healthCheckUp.set({ component: 'database' }, 1)
    metrics.upstreamModelHealthy.set({ model: 'chat-default' }, 2)
    await sampler.tick(T0)
    sendTraffic(metrics)
    const snapshot = await sampler.tick(T0 + 1_000)
    expect([...new Set(snapshot.signals.map((s) => s.name))].sort()).toEqual([...SIGNAL_NAMES].sort())
    expect(value(snapshot, 'websocket_connections')).toBe(3)
  })

  it('keeps sampling when a source throws, and says which one failed', async () => {
    sampler.addSource('broken', () => {
      throw new Error('boom')
    })
    sampler.addSource('live', () => [{ name: 'websocket_connections', labels: {}, value: 1 }])
    const snapshot = await sampler.tick(T0)
    expect(value(snapshot, 'websocket_connections')).toBe(1)
    expect(logs).toContainEqual({
      level: 'warn',
      msg: 'a signal source failed; its signals are missing from this snapshot',
    })
  })

  it('appends each snapshot to the series, emits it, and mirrors signals into gauges', async () => {
    const emitted: Snapshot[] = []
    events.on('snapshot', (s) => emitted.push(s))
    await sampler.tick(T0)
    sendTraffic(metrics)
    const snapshot = await sampler.tick(T0 + 1_000)
    expect(emitted).toHaveLength(2)
    expect(emitted[1]).toBe(snapshot)
    expect(sampler.latest()).toBe(snapshot)
    expect(series.query('http_requests_per_second')[0]!.points).toEqual([
      [T0, null],
      [T0 + 1_000, 100],
    ])
    const gauge = async (m: { get(): Promise<{ values: Array<{ value: number; labels: object }> }> }) =>
      (await m.get()).values
    expect(await gauge(metrics.systemCpuUsage)).toEqual([{ value: 0.42, labels: {} }])
    expect(await gauge(metrics.systemMemoryUsage)).toEqual([{ value: 0.75, labels: {} }])
    expect(await gauge(metrics.systemDiskUsage)).toEqual([{ value: 0.5, labels: { mount: '/data' } }])
    expect((await gauge(metrics.cacheHitRatio)).map((v) => [v.labels, v.value])).toEqual([
      [{ cache_type: 'ai_response' }, 0.8],
      [{ cache_type: 'models' }, 0.5],
    ])
    // Without traffic in the window the ratio is null and the gauge sample goes away.
    await sampler.tick(T0 + 120_000)
    expect(await gauge(metrics.cacheHitRatio)).toEqual([])
  })

  it('starts a new window when the clock goes backwards', async () => {
    await sampler.tick(T0)
    sendTraffic(metrics)
    const back = await sampler.tick(T0 - 5_000)
    expect(value(back, 'http_requests_per_second')).toBeNull()
  })

  it('never runs two ticks at once', async () => {
    const [a, b] = await Promise.all([sampler.tick(T0), sampler.tick(T0 + 1_000)])
    expect(a.at).toBe(T0)
    expect(value(b, 'http_requests_per_second')).toBe(0)
  })
})
