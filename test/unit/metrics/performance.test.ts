import { describe, expect, it } from 'vitest'
import { summarize, THRESHOLDS } from '../../../server/metrics/performance.js'
import type { SampleDetail } from '../../../server/metrics/sampler.js'
import type { SignalSample, Snapshot } from '../../../server/metrics/snapshot.js'

const detail: SampleDetail = {
  system: {
    cpuUsageRatio: 0,
    memory: { usedBytes: 1, limitBytes: 2, ratio: 0.5, source: 'host' },
    disk: null,
    eventLoopDelayP99Seconds: 0.01,
    rssBytes: 100,
    heapUsedBytes: 10,
    heapTotalBytes: 20,
  },
  pool: { total: 2, idle: 1, waiting: 0 },
  chatCachedRatio: 0.25,
}

function snapshotWith(overrides: Record<string, number | null>, extra: SignalSample[] = []): Snapshot {
  const base: Record<string, number | null> = {
    system_cpu_usage_ratio: 0.2,
    system_memory_usage_ratio: 0.5,
    http_latency_p95_seconds: 0.1,
    ...overrides,
  }
  return {
    at: 1,
    instance: 'i',
    signals: [
      ...Object.entries(base).map(([name, value]) => ({ name, labels: {}, value })),
      { name: 'system_disk_usage_ratio', labels: { mount: '/' }, value: 0.3 },
      ...extra,
    ],
  }
}

describe('performance summary', () => {
  it('recommends nothing when every value is within its threshold', () => {
    const summary = summarize(
      snapshotWith({}, [{ name: 'cache_hit_ratio', labels: { cache_type: 'ai_response' }, value: 0.95 }]),
      detail,
    )
    expect(summary.recommendations).toEqual([])
    expect(summary.system.disk).toEqual([{ mount: '/', usageRatio: 0.3 }])
    expect(summary.database.pool).toEqual({ total: 2, idle: 1, waiting: 0 })
    expect(summary.chat.cachedRatio).toBe(0.25)
    expect(summary.system.heapUsedBytes).toBe(10)
  })

  it.each([
    ['system_memory_usage_ratio', { system_memory_usage_ratio: 0.85 }, 'Memory use is 85 %'],
    ['system_cpu_usage_ratio', { system_cpu_usage_ratio: 0.75 }, 'CPU use is 75 %'],
    ['http_latency_p95_seconds', { http_latency_p95_seconds: 0.8 }, 'take over 800 ms'],
  ])('recommends on %s above its threshold, in plain words', (signal, overrides, words) => {
    const { recommendations } = summarize(snapshotWith(overrides), detail)
    expect(recommendations).toHaveLength(1)
    expect(recommendations[0]).toMatchObject({ signal, value: Object.values(overrides)[0] })
    expect(recommendations[0]!.message).toContain(words)
  })

  it('recommends on a full disk and a poor cache hit ratio, but not on a cache without traffic', () => {
    const { recommendations } = summarize(
      snapshotWith({}, [
        { name: 'system_disk_usage_ratio', labels: { mount: '/data' }, value: 0.93 },
        { name: 'cache_hit_ratio', labels: { cache_type: 'ai_response' }, value: 0.4 },
        { name: 'cache_hit_ratio', labels: { cache_type: 'models' }, value: null },
      ]),
      detail,
    )
    expect(recommendations.map((r) => [r.signal, r.threshold])).toEqual([
      ['system_disk_usage_ratio', THRESHOLDS.diskUsageRatio],
      ['cache_hit_ratio', THRESHOLDS.cacheHitRatio],
    ])
    expect(recommendations[0]!.message).toContain('(/data) is 93 % full')
    expect(recommendations[1]!.message).toContain('40 % of ai_response cache lookups hit')
  })

  it('stays quiet exactly at the thresholds', () => {
    const atThresholds = snapshotWith(
      { system_memory_usage_ratio: 0.8, system_cpu_usage_ratio: 0.7, http_latency_p95_seconds: 0.5 },
      [
        { name: 'system_disk_usage_ratio', labels: { mount: '/d' }, value: 0.9 },
        { name: 'cache_hit_ratio', labels: { cache_type: 'search' }, value: 0.7 },
      ],
    )
    expect(summarize(atThresholds, detail).recommendations).toEqual([])
  })
})
