import { afterAll, describe, expect, it } from 'vitest'
import { backends, createTestApp, real, type TestApp, useTestApp } from '../helpers/app.js'
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
    const components = res.json().components.map((c: { component: string }) => c.component)
    expect(components).toEqual(backend.redisUrl ? ['database', 'redis'] : ['database'])
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
      expect(down.body.status).toBe('unavailable')
      expect(down.body.components).toEqual([expect.objectContaining({ component: 'database', up: false })])

      proxy.restore()
      let back = await ready(t)
      for (let i = 0; i < 20 && back.status !== 200; i++) back = await ready(t)
      expect(back.status).toBe(200)
    })
  })
}
