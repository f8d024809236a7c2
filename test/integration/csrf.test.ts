import { describe, expect, it } from 'vitest'
import { backends, createToken, useTestApp, type TestApp } from '../helpers/app.js'
import { connectLive } from '../helpers/live-client.js'

const FOREIGN_ORIGIN = 'http://evil.localhost:8080'

async function sessionCookie(t: TestApp, token = t.adminToken): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: '/api/auth/session', payload: { token } })
  expect(res.statusCode).toBe(200)
  return `ccp_session=${res.cookies.find((c) => c.name === 'ccp_session')!.value}`
}

const auditActions = async (t: TestApp) =>
  (await t.request('GET', '/api/audit?limit=100')).json().entries.map((e: { action: string }) => e.action) as string[]

describe.each(backends)('cross-site requests with the session cookie ($name)', (backend) => {
  const t = useTestApp(backend, {
    listen: true,
    env: { PUBLIC_URL: 'https://ccp.example.test', SIGNIN_RATE_LIMIT_PER_MINUTE: '100' },
  })
  const ours = 'https://ccp.example.test'

  it('refuses the reported attack: a text/plain POST from a sibling origin, before anything runs or is audited', async () => {
    const cookie = await sessionCookie(t)
    const before = await auditActions(t)
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/db/optimize',
      headers: { cookie, origin: FOREIGN_ORIGIN, 'content-type': 'text/plain' },
      payload: 'x',
    })
    expect(res.statusCode).toBe(403)
    expect(res.json().error.code).toBe('csrf_rejected')
    expect(res.json().error.message).toContain(ours)
    expect(await auditActions(t)).toEqual(before)
  })

  it('accepts an unsafe request with the cookie from PUBLIC_URL’s origin, or without Origin when Sec-Fetch-Site says same-origin', async () => {
    const cookie = await sessionCookie(t)
    const clear = (headers: Record<string, string>) =>
      t.app.inject({ method: 'POST', url: '/api/cache/clear', headers: { cookie, ...headers }, payload: {} })
    expect((await clear({ origin: ours })).statusCode).toBe(200)
    expect((await clear({ 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200)
  })

  it('refuses the cookie without Origin (unless same-origin by Sec-Fetch-Site), with Origin "null", and from a same-site origin', async () => {
    const cookie = await sessionCookie(t)
    for (const headers of [
      {},
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'null' },
      { origin: 'https://other.example.test' },
      { origin: 'http://ccp.example.test' },
      { origin: 'https://ccp.example.test:8443' },
      { origin: 'not a url' },
    ]) {
      const res = await t.app.inject({
        method: 'DELETE',
        url: '/api/auth/session',
        headers: { cookie, ...headers },
      })
      expect({ headers, status: res.statusCode, code: res.json().error?.code }).toEqual({
        headers,
        status: 403,
        code: 'csrf_rejected',
      })
    }
    // Still signed in: none of them signed out.
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })).statusCode).toBe(200)
  })

  it('leaves safe methods alone: GET with the cookie from a foreign Origin is answered', async () => {
    const cookie = await sessionCookie(t)
    const res = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie, origin: FOREIGN_ORIGIN } })
    expect(res.statusCode).toBe(200)
  })

  it('does not apply to bearer tokens, which a browser never attaches by itself', async () => {
    const res = await t.request('POST', '/api/cache/clear', {}, { headers: { origin: FOREIGN_ORIGIN } })
    expect(res.statusCode).toBe(200)
  })

  it('has no text/plain body parser: such bodies get 415, not a string handed to the route', async () => {
    const res = await t.request('POST', '/api/alerts/rules/preview', '{"rule":{}}', {
      headers: { 'content-type': 'text/plain' },
    })
    expect(res.statusCode).toBe(415)
    expect(res.json().error.code).toBe('unsupported_media_type')
  })

  it('refuses the live WebSocket with the cookie from a foreign Origin or without one, accepts it from PUBLIC_URL', async () => {
    const viewer = await createToken(t, 'viewer')
    const cookie = await sessionCookie(t, viewer.secret)
    await expect(connectLive(t.baseUrl, { cookie, origin: FOREIGN_ORIGIN })).rejects.toThrow('upgrade refused: 403')
    await expect(connectLive(t.baseUrl, { cookie })).rejects.toThrow('upgrade refused: 403')
    const live = await connectLive(t.baseUrl, { cookie, origin: ours })
    expect((await live.next('hello')).data.principal.role).toBe('viewer')
    await live.close()
    // A bearer token from anywhere (a script, a monitor) is not a cross-site request.
    const bearer = await connectLive(t.baseUrl, { ...t.auth(viewer.secret), origin: FOREIGN_ORIGIN })
    await bearer.next('hello')
    await bearer.close()
  })
})

describe.each(backends)('cross-site requests when PUBLIC_URL is not set ($name)', (backend) => {
  const t = useTestApp(backend)

  it('accepts the origin the request was sent to (Origin equals Host) as well as the default PUBLIC_URL, and nothing else', async () => {
    const cookie = await sessionCookie(t)
    const clear = (headers: Record<string, string>) =>
      t.app.inject({ method: 'POST', url: '/api/cache/clear', headers: { cookie, ...headers }, payload: {} })
    expect(t.config.publicUrl).toBe('http://127.0.0.1:3000')
    expect((await clear({ origin: 'http://127.0.0.1:3000' })).statusCode).toBe(200)
    expect((await clear({ host: 'localhost:3000', origin: 'http://localhost:3000' })).statusCode).toBe(200)
    expect((await clear({ host: 'ccp.lan', origin: 'http://ccp.lan' })).statusCode).toBe(200)
    for (const headers of [
      { host: 'localhost:3000', origin: FOREIGN_ORIGIN },
      { host: 'localhost:3000', origin: 'http://localhost:8080' },
      { host: 'localhost:3000', origin: 'https://localhost:3000' },
    ]) {
      const res = await clear(headers)
      expect({ headers, code: res.json().error?.code }).toEqual({ headers, code: 'csrf_rejected' })
    }
  })
})
