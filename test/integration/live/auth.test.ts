import { describe, expect, it } from 'vitest'
import { backends, createToken, useTestApp } from '../../helpers/app.js'
import { connectLive } from '../../helpers/live-client.js'

describe.each(backends)('live hub: who may connect ($name)', (backend) => {
  const t = useTestApp(backend, { listen: true })

  it('refuses the upgrade with 401 without credentials and with an unknown token', async () => {
    await expect(connectLive(t.baseUrl)).rejects.toThrow('upgrade refused: 401')
    await expect(
      connectLive(t.baseUrl, { authorization: 'Bearer ccp_unknown-token-0000000000000000000000000' }),
    ).rejects.toThrow('upgrade refused: 401')
  })

  it('refuses a chat token with 403', async () => {
    const chat = await createToken(t, 'chat')
    await expect(connectLive(t.baseUrl, t.auth(chat.secret))).rejects.toThrow('upgrade refused: 403')
  })

  it('accepts a viewer bearer token and greets it with its role and the instance', async () => {
    const viewer = await createToken(t, 'viewer', 'live viewer')
    const client = await connectLive(t.baseUrl, t.auth(viewer.secret))
    const hello = await client.next('hello')
    expect(hello.data.principal).toEqual({ name: 'live viewer', role: 'viewer' })
    expect(hello.data.instance).toBe(t.config.instanceId)
    expect(hello.data.historyMinutes).toBe(15)
    expect(hello.data.heartbeatIntervalMs).toBe(15_000)
    await client.close()
  })

  it('accepts the dashboard session cookie', async () => {
    const signIn = await t.app.inject({ method: 'POST', url: '/api/auth/session', payload: { token: t.adminToken } })
    expect(signIn.statusCode).toBe(200)
    const cookie = signIn.cookies.find((c) => c.name === 'ccp_session')!
    const origin = new URL(t.config.publicUrl).origin
    const client = await connectLive(t.baseUrl, { cookie: `ccp_session=${cookie.value}`, origin })
    expect((await client.next('hello')).data.principal.role).toBe('admin')
    await client.close()
  })

  it('refuses a tampered session cookie with 401', async () => {
    await expect(
      connectLive(t.baseUrl, { cookie: 'ccp_session=00000000-0000-4000-8000-000000000000%7C99999999999999.forged' }),
    ).rejects.toThrow('upgrade refused: 401')
  })

  it('closes an open socket with 1008 at the next heartbeat when its token was revoked without the hub being told', async () => {
    const viewer = await createToken(t, 'viewer', 'soon revoked')
    const kept = await connectLive(t.baseUrl, t.auth())
    const doomed = await connectLive(t.baseUrl, t.auth(viewer.secret))
    await doomed.next('hello')
    // Revoked in the database only (as if the announcement from another instance was lost).
    expect(await t.app.tokens.revoke(viewer.token.id)).toBeDefined()

    await t.app.live.heartbeat()
    expect(await doomed.closed).toEqual({ code: 1008, reason: 'token revoked' })
    expect(kept.socket.readyState).toBe(kept.socket.OPEN)
    await kept.close()
  })
})
