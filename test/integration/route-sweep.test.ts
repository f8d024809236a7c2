import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RegisteredRoute } from '../../server/app.js'
import { backends, createTestApp, type TestApp } from '../helpers/app.js'
import { connectLive, listenOnce } from '../helpers/live-client.js'

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

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
/** Same site as a dashboard on localhost (another port, a sibling name), not the same origin. */
const FOREIGN_ORIGIN = 'http://evil.localhost:8080'

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

  it('refuses every unsafe route with the session cookie from a foreign Origin (403 csrf_rejected), not from ours or with a bearer token', async () => {
    const signIn = await t.app.inject({ method: 'POST', url: '/api/auth/session', payload: { token: t.adminToken } })
    expect(signIn.statusCode).toBe(200)
    const cookie = `ccp_session=${signIn.cookies.find((c) => c.name === 'ccp_session')!.value}`
    const ours = new URL(t.config.publicUrl).origin
    // Signing out ends the cookie's session, so it goes last.
    const signOut = 'DELETE /api/auth/session'
    const unsafe = routes
      .filter((r) => !SAFE_METHODS.has(r.method) && !PUBLIC_ROUTES.has(key(r)))
      .sort((a, b) => Number(key(a) === signOut) - Number(key(b) === signOut))
    expect(unsafe.map(key)).toEqual(expect.arrayContaining(['POST /api/db/optimize', 'POST /api/cache/clear', signOut]))
    // A malformed JSON body: a request that gets past the check stops at the body parser, so no action runs.
    const send = (route: RegisteredRoute, headers: Record<string, string>) =>
      t.app.inject({
        method: route.method as 'POST',
        url: concreteUrl(route.url),
        headers: { 'content-type': 'application/json', ...headers },
        payload: '{',
      })
    const outcome = (res: Awaited<ReturnType<typeof send>>) => `${res.statusCode} ${res.json().error?.code ?? ''}`
    const isCsrf = (res: Awaited<ReturnType<typeof send>>) =>
      res.statusCode === 403 && res.json().error?.code === 'csrf_rejected'
    const failures: string[] = []
    for (const route of unsafe) {
      const foreign = await send(route, { cookie, origin: FOREIGN_ORIGIN })
      if (!isCsrf(foreign)) failures.push(`${key(route)} with the cookie from ${FOREIGN_ORIGIN} → ${outcome(foreign)}`)
      const bearer = await send(route, { ...t.auth(), origin: FOREIGN_ORIGIN })
      if (isCsrf(bearer) || bearer.statusCode === 401)
        failures.push(`${key(route)} with a bearer token from ${FOREIGN_ORIGIN} → ${outcome(bearer)}`)
    }
    for (const route of unsafe) {
      const own = await send(route, { cookie, origin: ours })
      if (isCsrf(own) || own.statusCode === 401)
        failures.push(`${key(route)} with the cookie from ${ours} → ${outcome(own)}`)
    }
    expect(failures).toEqual([])
  })

  it('refuses the live WebSocket upgrade with the session cookie from a foreign Origin', async () => {
    const baseUrl = await listenOnce(t.app)
    const signIn = await t.app.inject({ method: 'POST', url: '/api/auth/session', payload: { token: t.adminToken } })
    const cookie = `ccp_session=${signIn.cookies.find((c) => c.name === 'ccp_session')!.value}`
    await expect(connectLive(baseUrl, { cookie, origin: FOREIGN_ORIGIN })).rejects.toThrow('upgrade refused: 403')
    const own = await connectLive(baseUrl, { cookie, origin: new URL(t.config.publicUrl).origin })
    expect((await own.next('hello')).data.principal.role).toBe('admin')
    await own.close()
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
