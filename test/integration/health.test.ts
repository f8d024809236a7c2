import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCheck } from '../../server/health/checks.js'
import { backends, createTestApp, real, type TestApp, useTestApp } from '../helpers/app.js'
import { freePort } from '../helpers/process.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'

describe.each(backends)('health ($name)', (backend) => {
  const t = useTestApp(backend)

  it('reports the process live without credentials', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/live' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok' })
  })

  it('is ready when the database (and Redis, when configured) answer', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/ready' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok', failing: [] })
  })

  it('lists every component with its latency for an authenticated caller', async () => {
    const res = await t.request('GET', '/api/health')
    expect(res.statusCode).toBe(200)
    for (const c of res.json().components) {
      expect(c.up).toBe(true)
      expect(typeof c.latencyMs).toBe('number')
    }
  })
})

/** Text that only the internals know: addresses, ports, driver and socket messages. */
function expectNoInternals(body: string, port: number) {
  for (const leak of [
    '127.0.0.1',
    'localhost',
    String(port),
    'ECONNREFUSED',
    'connect',
    'Connection',
    'redis connection',
    'timeout exceeded',
  ])
    expect(body, `the public body mentions ${leak}`).not.toContain(leak)
}

describe.each(backends)('readiness when Redis is unreachable ($name database)', (backend) => {
  let t: TestApp
  let deadPort: number
  beforeAll(async () => {
    deadPort = await freePort()
    // Nothing listens there; the app's own Redis keys would be its only ones, so none to drop.
    t = await createTestApp(
      { name: `${backend.name}, Redis unreachable`, databaseUrl: backend.databaseUrl, redisUrl: undefined },
      { env: { REDIS_URL: `redis://127.0.0.1:${deadPort}/0`, REDIS_COMMAND_TIMEOUT_MS: '200' } },
    )
  })
  afterAll(async () => t?.close())

  it('answers 503 with the component and a stable code only; /api/health keeps the details', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/ready' })
    expect(res.statusCode).toBe(503)
    expect(res.json()).toEqual({ status: 'unavailable', failing: [{ component: 'redis', code: 'unreachable' }] })
    expectNoInternals(res.body, deadPort)

    const details = (await t.request('GET', '/api/health')).json()
    expect(details.components.find((c: { component: string }) => c.component === 'redis')).toMatchObject({
      up: false,
      code: 'unreachable',
      error: expect.any(String),
    })
  })
})

async function ready(t: TestApp) {
  const res = await t.app.inject({ method: 'GET', url: '/health/ready' })
  return { status: res.statusCode, retryAfter: res.headers['retry-after'], body: res.json() }
}

// Cutting the network to a real Postgres is the honest way to make the database unreachable;
// the embedded engine lives in this process and has no such failure.
if (real?.databaseUrl) {
  const databaseUrl = new URL(real.databaseUrl)
  describe('readiness when the database is unreachable (postgres)', () => {
    let t: TestApp
    let proxy: TcpProxy
    afterAll(async () => {
      proxy?.restore()
      await t?.close()
      await proxy?.close()
    })

    it('answers 503 naming the database while Postgres is cut off, and 200 again when it is back', async () => {
      proxy = await TcpProxy.start({ host: databaseUrl.hostname, port: Number(databaseUrl.port || 5432) })
      const viaProxy = new URL(databaseUrl)
      viaProxy.port = String(proxy.port)
      t = await createTestApp(
        { name: 'postgres via proxy', databaseUrl: viaProxy.toString(), redisUrl: undefined },
        { env: { DB_CONNECT_TIMEOUT_MS: '1000' } },
      )
      expect((await ready(t)).status).toBe(200)

      proxy.cut()
      const down = await ready(t)
      expect(down.status).toBe(503)
      expect(down.retryAfter).toBe('5')
      expect(down.body).toEqual({ status: 'unavailable', failing: [{ component: 'database', code: 'unreachable' }] })
      expectNoInternals(JSON.stringify(down.body), proxy.port)
      // (GET /api/health cannot authenticate while the database is away; the details are the registry's.)
      expect(await t.app.health.check({ readinessOnly: true })).toEqual([
        expect.objectContaining({ component: 'database', up: false, code: 'unreachable', error: expect.any(String) }),
      ])

      proxy.restore()
      let back = await ready(t)
      for (let i = 0; i < 20 && back.status !== 200; i++) back = await ready(t)
      expect(back.status).toBe(200)
    })
  })
}

describe('health checks', () => {
  it('count a check that does not answer within its deadline as down with code timeout', async () => {
    const result = await runCheck('slow', () => new Promise(() => {}), 50)
    expect(result).toMatchObject({ component: 'slow', up: false, code: 'timeout' })
  })
})
