import { describe, expect, it, vi } from 'vitest'
import { backends, createToken, useTestApp } from '../../helpers/app.js'
import { connectLive, type LiveClient } from '../../helpers/live-client.js'

describe.each(backends)('live hub: connection caps ($name)', (backend) => {
  const t = useTestApp(backend, {
    listen: true,
    env: { LIVE_MAX_CONNECTIONS_PER_TOKEN: '2', LIVE_MAX_CONNECTIONS: '3' },
  })

  it('refuses the upgrade past the per-token cap (429), counts the token’s sessions too, and admits again once one closes', async () => {
    const viewer = await createToken(t, 'viewer', 'capped')
    const signIn = await t.app.inject({ method: 'POST', url: '/api/auth/session', payload: { token: viewer.secret } })
    const cookie = `ccp_session=${signIn.cookies.find((c) => c.name === 'ccp_session')!.value}`
    const first = await connectLive(t.baseUrl, t.auth(viewer.secret))
    const second = await connectLive(t.baseUrl, { cookie, origin: new URL(t.config.publicUrl).origin })
    await Promise.all([first.next('hello'), second.next('hello')])
    await expect(connectLive(t.baseUrl, t.auth(viewer.secret))).rejects.toThrow(
      /^upgrade refused: 429 .*"code":"too_many_connections".*LIVE_MAX_CONNECTIONS_PER_TOKEN/,
    )

    await first.close()
    // The server sees the close a moment after the client does.
    await vi.waitFor(() => expect(t.app.live.size).toBe(1))
    const again = await connectLive(t.baseUrl, t.auth(viewer.secret))
    await again.next('hello')
    await Promise.all([second.close(), again.close()])
  })

  it('refuses the upgrade past the instance-wide cap (503) whatever the token, and says why', async () => {
    const open: LiveClient[] = []
    for (const name of ['one', 'two', 'three']) {
      const token = await createToken(t, 'viewer', name)
      open.push(await connectLive(t.baseUrl, t.auth(token.secret)))
    }
    const fourth = await createToken(t, 'viewer', 'four')
    await expect(connectLive(t.baseUrl, t.auth(fourth.secret))).rejects.toThrow('upgrade refused: 503')
    await expect(connectLive(t.baseUrl, t.auth(fourth.secret))).rejects.toThrow(
      /"code":"too_many_connections".*LIVE_MAX_CONNECTIONS/,
    )
    await Promise.all(open.map((c) => c.close()))
    await vi.waitFor(() => expect(t.app.live.size).toBe(0))
    const now = await connectLive(t.baseUrl, t.auth(fourth.secret))
    await now.next('hello')
    await now.close()
  })
})
