import { describe, expect, it, vi } from 'vitest'
import { PRINCIPAL_REFRESH_AFTER_MS } from '../../server/auth/authenticator.js'
import { backends, createToken, real, useInstances, useTestApp, type TestApp } from '../helpers/app.js'

describe.each(backends)('auth ($name)', (backend) => {
  const t = useTestApp(backend, { env: { SIGNIN_RATE_LIMIT_PER_MINUTE: '5' } })

  it('answers 401 with a clear message without credentials or with an unknown token', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer ccp_not-a-real-token-at-all-000000000000' },
      { authorization: 'Basic abc' },
    ]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/tokens', headers })
      expect(res.statusCode).toBe(401)
      expect(res.json().error.code).toBe('unauthorized')
    }
  })

  it('answers 403 naming the role needed when the token has the wrong role', async () => {
    const viewer = await createToken(t, 'viewer')
    const chat = await createToken(t, 'chat')
    const asViewer = await t.request('POST', '/api/tokens', { name: 'x', role: 'admin' }, { token: viewer.secret })
    expect(asViewer.statusCode).toBe(403)
    expect(asViewer.json().error.message).toContain('admin role')
    const chatReadsAudit = await t.request('GET', '/api/audit', undefined, { token: chat.secret })
    expect(chatReadsAudit.statusCode).toBe(403)
    const viewerReadsAudit = await t.request('GET', '/api/audit', undefined, { token: viewer.secret })
    expect(viewerReadsAudit.statusCode).toBe(200)
  })

  it('creates, lists (without secrets) and revokes tokens, auditing each change', async () => {
    const created = await createToken(t, 'viewer', 'ci reader')
    expect(created.secret).toMatch(/^ccp_[A-Za-z0-9_-]{43}$/)
    expect(created.secret.startsWith(created.token.token_prefix)).toBe(true)

    const list = await t.request('GET', '/api/tokens')
    expect(list.statusCode).toBe(200)
    expect(list.body).not.toContain(created.secret)
    expect(list.body).not.toContain('token_hash')
    expect(list.json().tokens.map((tk: { name: string }) => tk.name)).toContain('ci reader')

    expect((await t.request('GET', '/api/auth/me', undefined, { token: created.secret })).json().role).toBe('viewer')
    const revoked = await t.request('DELETE', `/api/tokens/${created.token.id}`)
    expect(revoked.statusCode).toBe(200)
    expect(revoked.json().token.revoked_at).not.toBeNull()
    expect((await t.request('GET', '/api/auth/me', undefined, { token: created.secret })).statusCode).toBe(401)
    expect((await t.request('DELETE', `/api/tokens/${created.token.id}`)).statusCode).toBe(404)

    const audit = await t.request('GET', '/api/audit?limit=50')
    const actions = audit
      .json()
      .entries.filter((e: { target: string }) => e.target === created.token.id)
      .map((e: { action: string }) => e.action)
    expect(actions).toEqual(['token.revoke', 'token.create'])
  })

  it('rejects bad token input with 400 and field paths', async () => {
    const res = await t.request('POST', '/api/tokens', { name: '', role: 'root' })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('validation_error')
    expect(res.json().error.message).toMatch(/body\/(name|role)/)
    const badId = await t.request('DELETE', '/api/tokens/not-a-uuid')
    expect(badId.statusCode).toBe(400)
  })

  it('refuses to revoke the last active admin token', async () => {
    const me = (await t.request('GET', '/api/auth/me')).json()
    const res = await t.request('DELETE', `/api/tokens/${me.tokenId}`)
    expect(res.statusCode).toBe(409)
    expect(res.json().error.code).toBe('last_admin_token')
  })

  it('signs in with a token into an httpOnly, SameSite=Strict signed cookie, and signs out for good', async () => {
    const viewer = await createToken(t, 'viewer')
    const signIn = await t.app.inject({ method: 'POST', url: '/api/auth/session', payload: { token: viewer.secret } })
    expect(signIn.statusCode).toBe(200)
    const setCookie = String(signIn.headers['set-cookie'])
    expect(setCookie).toMatch(/^ccp_session=/)
    expect(setCookie).toContain('HttpOnly')
    expect(setCookie).toContain('SameSite=Strict')
    expect(setCookie).not.toContain(viewer.secret)
    const cookie = setCookie.split(';')[0]!

    const me = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })
    expect(me.statusCode).toBe(200)
    expect(me.json()).toMatchObject({ role: 'viewer', via: 'session' })

    const forged = cookie.replace(/\.[^.]+$/, '.forgedsignature')
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: forged } })).statusCode).toBe(
      401,
    )

    const origin = new URL(t.config.publicUrl).origin
    const signOut = await t.app.inject({ method: 'DELETE', url: '/api/auth/session', headers: { cookie, origin } })
    expect(signOut.statusCode).toBe(204)
    expect(String(signOut.headers['set-cookie'])).toMatch(/ccp_session=;/)
    // The session is over on the server: a kept copy of the cookie no longer signs anyone in.
    const afterSignOut = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })
    expect(afterSignOut.statusCode).toBe(401)
  })

  it('does not let chat tokens sign in to the dashboard', async () => {
    const chat = await createToken(t, 'chat')
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/session', payload: { token: chat.secret } })
    expect(res.statusCode).toBe(401)
    expect(res.json().error.message).toContain('Chat tokens cannot sign in')
  })

  it('rate-limits sign-in attempts per client address', async () => {
    const attempts = []
    for (let i = 0; i < 7; i++) {
      attempts.push(
        (
          await t.app.inject({
            method: 'POST',
            url: '/api/auth/session',
            remoteAddress: '10.9.8.7',
            payload: { token: 'ccp_wrong' },
          })
        ).statusCode,
      )
    }
    expect(attempts.slice(0, 5)).toEqual([401, 401, 401, 401, 401])
    expect(attempts.slice(5)).toEqual([429, 429])
  })
})

/** Two instances on one Postgres schema and one Redis prefix (a fleet). Needs both: CI has them. */
describe.runIf(real?.databaseUrl && real?.redisUrl)('token revocation across instances (postgres+redis)', () => {
  const [a, b] = useInstances(real!, 2) as [TestApp, TestApp]

  it('stops accepting a token revoked on another instance at once, not when its cached verification runs out', async () => {
    const created = await createToken(a, 'viewer', 'revoked elsewhere')
    const onB = () => b.request('GET', '/api/auth/me', undefined, { token: created.secret })
    const firstUseOnB = Date.now()
    expect((await onB()).statusCode).toBe(200) // B looks the token up and remembers it
    expect((await onB()).statusCode).toBe(200) // answered from B's memory

    const revoke = await a.request('DELETE', `/api/tokens/${created.token.id}`)
    expect(revoke.statusCode).toBe(200)
    expect((await a.request('GET', '/api/auth/me', undefined, { token: created.secret })).statusCode).toBe(401)

    await vi.waitFor(async () => expect((await onB()).statusCode).toBe(401), { timeout: 10_000, interval: 20 })
    const rejectedOnB = Date.now()
    // Left to itself, B would trust its verification until it renews it PRINCIPAL_REFRESH_AFTER_MS
    // after the first use; rejecting earlier means B was told.
    expect(rejectedOnB - firstUseOnB).toBeLessThan(PRINCIPAL_REFRESH_AFTER_MS)
    // Other tokens are unaffected: B looks them up again.
    expect((await b.request('GET', '/api/auth/me')).statusCode).toBe(200)
  })
})
