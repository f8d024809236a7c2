import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RegisteredRoute } from '../../server/app.js'
import { backends, createTestApp, type TestApp } from '../helpers/app.js'

/**
 * The only routes anyone may call without credentials. Adding a public route means adding
 * it here, on purpose.
 */
const PUBLIC_ROUTES = new Set([
  'GET /health/live',
  'HEAD /health/live',
  'GET /health/ready',
  'HEAD /health/ready',
  'POST /api/auth/session',
  // the dashboard's static files (present once the dashboard is built)
  'GET /*',
  'HEAD /*',
  // only while METRICS_TOKEN is unset; the sweep below runs with it set as well
  'GET /metrics',
  'HEAD /metrics',
])

const SAMPLE_UUID = '00000000-0000-4000-8000-000000000000'

function concreteUrl(url: string): string {
  return url
    .replace(/:(id|[a-zA-Z]*Id)\b/g, SAMPLE_UUID)
    .replace(/:[a-zA-Z_]+/g, 'sample')
    .replace(/\*$/, 'sample')
}

const key = (r: RegisteredRoute) => `${r.method} ${r.url}`

describe.each(backends)('route sweep ($name)', (backend) => {
  let t: TestApp
  let withMetricsToken: TestApp
  let routes: RegisteredRoute[]
  beforeAll(async () => {
    t = await createTestApp(backend)
    withMetricsToken = await createTestApp(backend, { env: { METRICS_TOKEN: 'metrics-token-for-the-sweep-0001' } })
    routes = t.app.registeredRoutes.filter((r) => r.method !== 'OPTIONS')
  })
  afterAll(async () => {
    await t?.close()
    await withMetricsToken?.close()
  })

  it('finds the routes of every feature', () => {
    expect(routes.length).toBeGreaterThan(10)
    expect(routes.map(key)).toContain('GET /api/tokens')
  })

  it('declares public access only on the routes of the public list', () => {
    const declaredPublic = routes.filter((r) => r.access === 'public').map(key)
    expect(declaredPublic.filter((r) => !PUBLIC_ROUTES.has(r))).toEqual([])
  })

  it('answers 401 without credentials on every route that is not public', async () => {
    const failures: string[] = []
    for (const route of routes.filter((r) => !PUBLIC_ROUTES.has(key(r)))) {
      const res = await t.app.inject({ method: route.method as 'GET', url: concreteUrl(route.url) })
      if (res.statusCode !== 401) failures.push(`${key(route)} → ${res.statusCode}`)
    }
    expect(failures).toEqual([])
  })

  it('requires the metrics token on /metrics when METRICS_TOKEN is set', async () => {
    const metricsRoutes = withMetricsToken.app.registeredRoutes.filter((r) => r.url === '/metrics')
    expect(metricsRoutes.map(key)).toContain('GET /metrics')
    for (const route of metricsRoutes) {
      const res = await withMetricsToken.app.inject({ method: route.method as 'GET', url: '/metrics' })
      expect(res.statusCode).toBe(401)
    }
  })

  it('answers 403 to a viewer on every admin-only route and to a chat token on every viewer route', async () => {
    const tokenFor = async (role: string) =>
      (await t.request('POST', '/api/tokens', { name: `sweep ${role}`, role })).json().secret as string
    const viewer = await tokenFor('viewer')
    const chat = await tokenFor('chat')
    const failures: string[] = []
    for (const route of routes) {
      const as = route.access === 'admin' ? viewer : route.access === 'viewer' ? chat : null
      if (!as) continue
      const res = await t.request(route.method as 'GET', concreteUrl(route.url), undefined, { token: as })
      if (res.statusCode !== 403)
        failures.push(`${key(route)} as ${route.access === 'admin' ? 'viewer' : 'chat'} → ${res.statusCode}`)
    }
    expect(failures).toEqual([])
  })

  it('answers 403 to a viewer token on every chat route', async () => {
    const viewer = (await t.request('POST', '/api/tokens', { name: 'sweep chat viewer', role: 'viewer' })).json()
      .secret as string
    const chatRoutes = routes.filter((r) => r.access === 'chat')
    expect(chatRoutes.map(key)).toContain('POST /v1/chat/completions')
    const failures: string[] = []
    for (const route of chatRoutes) {
      const res = await t.request(route.method as 'GET', concreteUrl(route.url), undefined, { token: viewer })
      if (res.statusCode !== 403) failures.push(`${key(route)} as viewer → ${res.statusCode}`)
    }
    expect(failures).toEqual([])
  })
})
