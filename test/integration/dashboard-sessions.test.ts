import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it, vi } from 'vitest'
import { PRINCIPAL_REFRESH_AFTER_MS } from '../../server/auth/authenticator.js'
import { hashSessionId } from '../../server/auth/session-repository.js'
import { backends, createToken, real, useInstances, useTestApp, type TestApp } from '../helpers/app.js'
import { connectLive, listenOnce, type LiveClient } from '../helpers/live-client.js'

/** Signs in through the API; the cookie as a browser would send it back, and the id inside it. */
async function signIn(t: TestApp, token = t.adminToken): Promise<{ cookie: string; id: string }> {
  const res = await t.app.inject({ method: 'POST', url: '/api/auth/session', payload: { token } })
  expect(res.statusCode).toBe(200)
  const value = res.cookies.find((c) => c.name === 'ccp_session')!.value
  return { cookie: `ccp_session=${value}`, id: t.app.unsignCookie(value).value! }
}

const origin = (t: TestApp) => new URL(t.config.publicUrl).origin
const me = (t: TestApp, cookie: string) => t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })
const signOut = (t: TestApp, cookie: string) =>
  t.app.inject({ method: 'DELETE', url: '/api/auth/session', headers: { cookie, origin: origin(t) } })
const liveWith = (t: TestApp, baseUrl: string, cookie: string) => connectLive(baseUrl, { cookie, origin: origin(t) })

/** The close code and reason, or 'still open' if the socket is open `ms` later (the heartbeat is 15 s away). */
async function closedWithin(client: LiveClient, ms: number): Promise<{ code: number; reason: string } | 'still open'> {
  return Promise.race([client.closed, sleep(ms).then(() => 'still open' as const)])
}

const sessionRows = (t: TestApp, tokenId: string) =>
  t.app.db.selectFrom('dashboard_sessions').selectAll().where('token_id', '=', tokenId).execute()

describe.each(backends)('dashboard sessions ($name)', (backend) => {
  const t = useTestApp(backend, { listen: true, env: { SIGNIN_RATE_LIMIT_PER_MINUTE: '100' } })

  it('keeps the session on the server: the cookie carries a random id, the table only its hash and token', async () => {
    const viewer = await createToken(t, 'viewer')
    const { id } = await signIn(t, viewer.secret)
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const rows = await sessionRows(t, viewer.token.id)
    expect(rows).toHaveLength(1)
    expect(rows[0]!.id_hash).toBe(hashSessionId(id))
    expect(JSON.stringify(rows)).not.toContain(id)
    const hours = (rows[0]!.expires_at.getTime() - Date.now()) / 3_600_000
    expect(hours).toBeGreaterThan(11.9)
    expect(hours).toBeLessThanOrEqual(12)
  })

  it('ends the session on sign-out: the old cookie gets 401 at once, another session of the token goes on', async () => {
    const first = await signIn(t)
    const second = await signIn(t)
    expect((await me(t, first.cookie)).statusCode).toBe(200) // verified and remembered
    const out = await signOut(t, first.cookie)
    expect(out.statusCode).toBe(204)
    expect(String(out.headers['set-cookie'])).toMatch(/ccp_session=;/)
    const after = await me(t, first.cookie)
    expect(after.statusCode).toBe(401)
    expect(after.json().error.code).toBe('unauthorized')
    expect((await me(t, second.cookie)).statusCode).toBe(200)
    // A second sign-out with the dead cookie is just unauthenticated.
    expect((await signOut(t, first.cookie)).statusCode).toBe(401)
  })

  it('closes the live socket of a session when it signs out, with 1008, and not the sockets of other sessions', async () => {
    const leaving = await signIn(t)
    const staying = await signIn(t)
    const doomed = await liveWith(t, t.baseUrl, leaving.cookie)
    const kept = await liveWith(t, t.baseUrl, staying.cookie)
    await doomed.next('hello')
    await kept.next('hello')
    expect((await signOut(t, leaving.cookie)).statusCode).toBe(204)
    expect(await closedWithin(doomed, 5_000)).toEqual({ code: 1008, reason: 'signed out' })
    expect(kept.socket.readyState).toBe(kept.socket.OPEN)
    await kept.close()
  })

  it('ends every session of a revoked token and closes their sockets at once, not at the next heartbeat', async () => {
    const viewer = await createToken(t, 'viewer', 'revoked with sessions')
    const a = await signIn(t, viewer.secret)
    const b = await signIn(t, viewer.secret)
    expect((await me(t, a.cookie)).statusCode).toBe(200)
    const bySession = await liveWith(t, t.baseUrl, a.cookie)
    const byBearer = await connectLive(t.baseUrl, t.auth(viewer.secret))
    const admin = await connectLive(t.baseUrl, t.auth())
    await Promise.all([bySession.next('hello'), byBearer.next('hello'), admin.next('hello')])
    expect(await sessionRows(t, viewer.token.id)).toHaveLength(2)

    expect((await t.request('DELETE', `/api/tokens/${viewer.token.id}`)).statusCode).toBe(200)
    expect((await me(t, a.cookie)).statusCode).toBe(401)
    expect((await me(t, b.cookie)).statusCode).toBe(401)
    expect(await sessionRows(t, viewer.token.id)).toEqual([])
    expect(await closedWithin(bySession, 5_000)).toEqual({ code: 1008, reason: 'token revoked' })
    expect(await closedWithin(byBearer, 5_000)).toEqual({ code: 1008, reason: 'token revoked' })
    expect(admin.socket.readyState).toBe(admin.socket.OPEN)
    await admin.close()
  })

  it('refuses an expired session at once, even one verified a moment before, and closes its socket', async () => {
    const { id, cookie } = await signIn(t)
    const principal = (await t.app.authenticator.fromSession(id))!
    const expiresAt = principal.session!.expiresAt
    // Verified (and remembered) a millisecond before the expiry: refused at the expiry all the same.
    expect(await t.app.authenticator.fromSession(id, expiresAt - 1)).toMatchObject({ via: 'session' })
    expect(await t.app.authenticator.fromSession(id, expiresAt)).toBeNull()

    // A session whose row says it expired is refused by the lookup, and its socket goes at the heartbeat.
    const live = await liveWith(t, t.baseUrl, cookie)
    await live.next('hello')
    await t.app.db
      .updateTable('dashboard_sessions')
      .set({ expires_at: new Date(Date.now() - 1_000) })
      .where('id_hash', '=', hashSessionId(id))
      .execute()
    const other = await signIn(t)
    await t.app.db
      .updateTable('dashboard_sessions')
      .set({ expires_at: new Date(Date.now() - 1_000) })
      .where('id_hash', '=', hashSessionId(other.id))
      .execute()
    expect((await me(t, other.cookie)).statusCode).toBe(401)
    await t.app.live.heartbeat()
    expect(await live.closed).toEqual({ code: 1008, reason: 'session ended' })
  })
})

/** Two instances on one Postgres schema and one Redis prefix (a fleet). Needs both: CI has them. */
describe.runIf(real?.databaseUrl && real?.redisUrl)('dashboard sessions across instances (postgres+redis)', () => {
  const [a, b] = useInstances(real!, 2) as [TestApp, TestApp]

  it('refuses a session signed out on another instance at once, and closes its socket there', async () => {
    const bUrl = await listenOnce(b.app)
    const session = await signIn(a)
    const firstUseOnB = Date.now()
    expect((await me(b, session.cookie)).statusCode).toBe(200) // B looks the session up and remembers it
    const live = await liveWith(b, bUrl, session.cookie)
    await live.next('hello')

    expect((await signOut(a, session.cookie)).statusCode).toBe(204)
    const signedOutAt = Date.now()
    expect((await me(a, session.cookie)).statusCode).toBe(401)
    await vi.waitFor(async () => expect((await me(b, session.cookie)).statusCode).toBe(401), {
      timeout: 10_000,
      interval: 20,
    })
    const refusedOnB = Date.now()
    // Left to itself, B would trust its verification until it renews it PRINCIPAL_REFRESH_AFTER_MS
    // after the first use; refusing earlier means B was told.
    expect(refusedOnB - firstUseOnB).toBeLessThan(PRINCIPAL_REFRESH_AFTER_MS)
    expect(refusedOnB - signedOutAt).toBeLessThan(2_000)
    expect(await closedWithin(live, 5_000)).toEqual({ code: 1008, reason: 'signed out' })
  })

  it('closes the sockets of a token revoked on another instance at once', async () => {
    const bUrl = await listenOnce(b.app)
    const viewer = await createToken(a, 'viewer', 'revoked on A')
    const session = await signIn(a, viewer.secret)
    const bySession = await liveWith(b, bUrl, session.cookie)
    const byBearer = await connectLive(bUrl, b.auth(viewer.secret))
    await Promise.all([bySession.next('hello'), byBearer.next('hello')])
    expect((await a.request('DELETE', `/api/tokens/${viewer.token.id}`)).statusCode).toBe(200)
    expect(await closedWithin(bySession, 5_000)).toEqual({ code: 1008, reason: 'token revoked' })
    expect(await closedWithin(byBearer, 5_000)).toEqual({ code: 1008, reason: 'token revoked' })
    expect((await me(b, session.cookie)).statusCode).toBe(401)
  })
})
