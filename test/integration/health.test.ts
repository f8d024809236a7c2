import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, createTestApp, type TestApp } from '../helpers/app.js'

describe.each(backends)('health ($name)', (backend) => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp(backend)
  })
  afterAll(async () => t?.close())

  it('reports the process live without credentials', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/live' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok' })
  })

  it('is ready when the database (and Redis, when configured) answer', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/ready' })
    expect(res.statusCode).toBe(200)
    const components = res.json().components.map((c: { component: string }) => c.component)
    expect(components).toEqual(backend.redisUrl ? ['database', 'redis'] : ['database'])
  })

  it('lists every component with its latency for an authenticated caller', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/health', headers: t.auth() })
    expect(res.statusCode).toBe(200)
    for (const c of res.json().components) {
      expect(c.up).toBe(true)
      expect(typeof c.latencyMs).toBe('number')
    }
  })
})
