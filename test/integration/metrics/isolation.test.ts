import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Snapshot } from '../../../server/metrics/snapshot.js'
import { backends, createTestApp, type TestApp } from '../../helpers/app.js'

describe.each(backends)('two apps in one process ($name)', (backend) => {
  let a: TestApp
  let b: TestApp
  beforeAll(async () => {
    a = await createTestApp(backend, { env: { SAMPLE_INTERVAL_MS: '60000', INSTANCE_ID: 'app-a' } })
    b = await createTestApp(backend, { env: { SAMPLE_INTERVAL_MS: '60000', INSTANCE_ID: 'app-b' } })
  })
  afterAll(async () => Promise.all([a?.close(), b?.close()]))

  it('do not share registries, counters or gauges', async () => {
    expect(a.app.metrics.registry).not.toBe(b.app.metrics.registry)
    for (let i = 0; i < 3; i++) await a.app.inject({ method: 'GET', url: '/health/live' })
    a.app.metrics.healthCheckUp.set({ component: 'database' }, 0)

    const textA = (await a.app.inject({ method: 'GET', url: '/metrics' })).body
    const textB = (await b.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(textA).toMatch(/^http_requests_total\{method="GET",route="\/health\/live",status_code="200"\} 3$/m)
    expect(textB).not.toContain('route="/health/live"')
    expect(textB).not.toContain('health_check_up{component="database"} 0')
  })

  it('do not share samplers, series or snapshot events', async () => {
    const seenByB: Snapshot[] = []
    b.app.events.on('snapshot', (s) => seenByB.push(s))
    const snapshot = await a.app.sampler.tick()
    expect(snapshot.instance).toBe('app-a')
    expect(seenByB).toEqual([])
    expect(b.app.sampler.latest()).toBeNull()
    expect(b.app.series.names()).toEqual([])
    expect(a.app.series.names()).toContain('http_requests_per_second')
  })
})
