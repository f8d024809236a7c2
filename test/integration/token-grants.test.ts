import { describe, expect, it } from 'vitest'
import { backends, useTestApp } from '../helpers/app.js'

/** A token's project, expiry, limits and budget: set at creation, shown, changed, enforced (expiry). */
describe.each(backends)('token grants ($name)', (backend) => {
  const t = useTestApp(backend)

  it('creates a token with project, expiry, limits and budget, lists them, and changes them', async () => {
    const expires = new Date(Date.now() + 3_600_000).toISOString()
    const created = await t.request('POST', '/api/tokens', {
      name: 'team-a app',
      role: 'chat',
      project: 'team-a',
      expires_at: expires,
      limits: { rpm: 100, tpm: 50_000, concurrency: 4 },
      budget: { tokens: 1_000_000, cost: 25, period: 'month' },
    })
    expect(created.statusCode, created.body).toBe(201)
    const { token, secret } = created.json()
    expect(token).toMatchObject({
      project: 'team-a',
      expires_at: expires,
      limits: { rpm: 100, tpm: 50_000, concurrency: 4 },
      budget: { tokens: 1_000_000, cost: 25, period: 'month' },
    })
    const listed = (await t.request('GET', '/api/tokens')).json().tokens.find((x: { id: string }) => x.id === token.id)
    expect(listed).toMatchObject({ project: 'team-a', limits: { rpm: 100 }, budget: { period: 'month' } })

    const patched = await t.request('PATCH', `/api/tokens/${token.id}`, {
      project: null,
      limits: { rpm: 5 },
      budget: null,
    })
    expect(patched.statusCode, patched.body).toBe(200)
    expect(patched.json().token).toMatchObject({ project: null, limits: { rpm: 5 }, budget: null, expires_at: expires })
    // The token still works, and its own view of itself is unchanged.
    expect((await t.request('GET', '/api/auth/me', undefined, { token: secret })).statusCode).toBe(200)
  })

  it('defaults to no project, no expiry, no limits and no budget', async () => {
    const { token } = (await t.request('POST', '/api/tokens', { name: 'plain', role: 'chat' })).json()
    expect(token).toMatchObject({ project: null, expires_at: null, limits: {}, budget: null })
  })

  it('refuses an expired token, also one verified a moment before its expiry', async () => {
    const { token, secret } = (
      await t.request('POST', '/api/tokens', {
        name: 'short-lived',
        role: 'chat',
        expires_at: new Date(Date.now() + 1_500).toISOString(),
      })
    ).json()
    expect((await t.request('GET', '/api/auth/me', undefined, { token: secret })).statusCode).toBe(200)
    await new Promise((r) => setTimeout(r, 1_600))
    expect((await t.request('GET', '/api/auth/me', undefined, { token: secret })).statusCode).toBe(401)
    // Expired is not revoked: an admin may give it a new expiry.
    const renewed = await t.request('PATCH', `/api/tokens/${token.id}`, {
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    })
    expect(renewed.statusCode, renewed.body).toBe(200)
    expect((await t.request('GET', '/api/auth/me', undefined, { token: secret })).statusCode).toBe(200)
  })

  it('answers 400 naming the problem for bad grants, and 404 for a token that is not active', async () => {
    const bad = [
      [{ name: 'x', role: 'chat', project: 'has space' }, /project/],
      [{ name: 'x', role: 'chat', limits: { rpm: 0 } }, /rpm/],
      [{ name: 'x', role: 'chat', limits: { burst: 3 } }, /additional/i],
      [{ name: 'x', role: 'chat', budget: { period: 'week', tokens: 1 } }, /period/],
      [{ name: 'x', role: 'chat', budget: { period: 'day' } }, /tokens, cost or both/],
      [{ name: 'x', role: 'chat', expires_at: new Date(Date.now() - 1000).toISOString() }, /future/],
    ] as const
    for (const [body, message] of bad) {
      const res = await t.request('POST', '/api/tokens', body)
      expect(res.statusCode, JSON.stringify(body)).toBe(400)
      expect(res.json().error.message, JSON.stringify(body)).toMatch(message)
    }
    const missing = await t.request('PATCH', '/api/tokens/00000000-0000-4000-8000-000000000000', { limits: {} })
    expect(missing.statusCode).toBe(404)
  })

  it('lets only admins change grants', async () => {
    const { secret: viewer } = (await t.request('POST', '/api/tokens', { name: 'v', role: 'viewer' })).json()
    const { token } = (await t.request('POST', '/api/tokens', { name: 'c', role: 'chat' })).json()
    const res = await t.request('PATCH', `/api/tokens/${token.id}`, { limits: { rpm: 1 } }, { token: viewer })
    expect(res.statusCode).toBe(403)
  })
})
