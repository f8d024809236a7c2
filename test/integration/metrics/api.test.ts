import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Sampler } from '../../../server/metrics/sampler.js'
import type { Snapshot } from '../../../server/metrics/snapshot.js'
import { backends, createTestApp, type TestApp } from '../../helpers/app.js'

const FAST_CHAT = { SIM_FIRST_TOKEN_MS: '0', SIM_TOKENS_PER_SECOND: '100000' }
const chat = (t: TestApp, content: string) => t.chat(content)

describe.each(backends)('metrics API ($name)', (backend) => {
  let t: TestApp
  let start: number
  beforeAll(async () => {
    t = await createTestApp(backend, { env: { SAMPLE_INTERVAL_MS: '60000', ...FAST_CHAT } })
    // Ticks a second apart from now on, with traffic between them, fill the series.
    start = Date.now()
    for (let i = 1; i <= 5; i++) {
      await t.app.inject({ method: 'GET', url: '/health/live' })
      expect((await chat(t, i % 2 ? 'same question' : `question ${i}`)).statusCode).toBe(200)
      await t.app.sampler.tick(start + i * 1000)
    }
  })
  afterAll(async () => t?.close())

  const get = (url: string, headers = t.auth()) => t.app.inject({ method: 'GET', url, headers })

  it('needs a viewer credential', async () => {
    for (const url of [
      '/api/metrics/snapshot',
      '/api/metrics/series?signal=http_requests_per_second',
      '/api/performance',
    ]) {
      expect((await get(url, {} as never)).statusCode, url).toBe(401)
    }
  })

  it('serves the latest snapshot', async () => {
    const res = await get('/api/metrics/snapshot')
    expect(res.statusCode).toBe(200)
    const snapshot = res.json() as Snapshot
    expect(snapshot.at).toBe(start + 5000)
    expect(snapshot.instance).toBe(t.config.instanceId)
    const names = new Set(snapshot.signals.map((s) => s.name))
    for (const name of [
      'http_requests_per_second',
      'http_latency_p95_seconds',
      'cache_hit_ratio',
      'system_memory_usage_ratio',
      'db_pool_waiting',
    ]) {
      expect(names.has(name), name).toBe(true)
    }
  })

  it('returns the last minutes of http_latency_p95_seconds', async () => {
    const res = await get('/api/metrics/series?signal=http_latency_p95_seconds')
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.signal).toBe('http_latency_p95_seconds')
    expect(body.lines).toHaveLength(1)
    const points = body.lines[0].points as Array<[number, number | null]>
    expect(points.map(([at]) => at)).toEqual([1, 2, 3, 4, 5].map((i) => start + i * 1000))
    for (const [, value] of points) expect(value).toBeGreaterThan(0)
  })

  it('filters by labels and since', async () => {
    const res = await get(
      `/api/metrics/series?signal=cache_hit_ratio&labels=cache_type=ai_response&since=${start + 4000}`,
    )
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.since).toBe(start + 4000)
    expect(body.lines).toHaveLength(1)
    expect(body.lines[0].labels).toEqual({ cache_type: 'ai_response' })
    expect(body.lines[0].points.map(([at]: [number]) => at)).toEqual([start + 4000, start + 5000])
    const none = await get('/api/metrics/series?signal=cache_hit_ratio&labels=cache_type=nonexistent')
    expect(none.json().lines).toEqual([])
  })

  it('answers 404 with the known signals for an unknown one', async () => {
    const res = await get('/api/metrics/series?signal=http_latency_p95')
    expect(res.statusCode).toBe(404)
    const { error } = res.json()
    expect(error.code).toBe('unknown_signal')
    expect(error.message).toContain('http_latency_p95_seconds')
    expect(error.details.known).toContain('job_failing')
  })

  it('answers 400 to bad labels, a bad since and a missing signal', async () => {
    const badLabels = await get('/api/metrics/series?signal=cache_hit_ratio&labels=cache_type')
    expect(badLabels.statusCode).toBe(400)
    expect(badLabels.json().error.code).toBe('invalid_labels')
    const badSince = await get('/api/metrics/series?signal=cache_hit_ratio&since=last-tuesday')
    expect(badSince.statusCode).toBe(400)
    expect(badSince.json().error.code).toBe('invalid_since')
    const missing = await get('/api/metrics/series')
    expect(missing.statusCode).toBe(400)
    expect(missing.json().error.code).toBe('validation_error')
  })

  it('summarizes performance', async () => {
    const res = await get('/api/performance')
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.at).toBe(start + 5000)
    expect(body.system.memoryUsageRatio).toBeGreaterThan(0)
    expect(body.system.heapUsedBytes).toBeGreaterThan(0)
    expect(body.http.requestsPerSecond).toBeGreaterThan(0)
    expect(body.database.pool.total).toBeGreaterThanOrEqual(0)
    expect(body.chat.requestsPerSecond).toBeGreaterThan(0)
    expect(body.cache.map((c: { cacheType: string }) => c.cacheType)).toContain('ai_response')
    expect(Array.isArray(body.recommendations)).toBe(true)
  })
})

describe.each(backends)('performance recommendations after slow, uncached traffic ($name)', (backend) => {
  let t: TestApp
  beforeAll(async () => {
    // Every completion waits 600 ms for its first token, and no two prompts are alike.
    t = await createTestApp(backend, {
      env: { SAMPLE_INTERVAL_MS: '60000', SIM_FIRST_TOKEN_MS: '600', SIM_TOKENS_PER_SECOND: '100000' },
    })
  })
  afterAll(async () => t?.close())

  it('recommends on p95 latency over 500 ms and a cache hit ratio under 70 %', async () => {
    const results = await Promise.all([1, 2, 3].map((i) => chat(t, `distinct prompt ${i}`)))
    for (const res of results) expect(res.statusCode).toBe(200)
    const res = await t.request('GET', '/api/performance')
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.http.latencyP95Seconds).toBeGreaterThan(0.5)
    const signals = body.recommendations.map((r: { signal: string }) => r.signal)
    expect(signals).toContain('http_latency_p95_seconds')
    expect(signals).toContain('cache_hit_ratio')
    const cache = body.recommendations.find((r: { signal: string }) => r.signal === 'cache_hit_ratio')
    expect(cache.message).toContain('ai_response')
  })
})

describe.each(backends)('sampler timer ($name)', (backend) => {
  it('ticks on its own after the app is ready and stops on close', async () => {
    const t = await createTestApp(backend, { env: { SAMPLE_INTERVAL_MS: '100' } })
    const sampler = t.app.sampler as Sampler
    try {
      expect(sampler.isTicking()).toBe(true)
      const [snapshot] = (await once(t.app.events, 'snapshot')) as [Snapshot]
      expect(snapshot.signals.some((s) => s.name === 'system_cpu_usage_ratio')).toBe(true)
      // Primed on ready, the first timer tick already has a window to measure.
      expect(snapshot.signals.find((s) => s.name === 'http_requests_per_second')?.value).toBe(0)
    } finally {
      await t.close()
    }
    expect(sampler.isTicking()).toBe(false)
  })
})
