import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiProxy } from '../../dashboard/scripts/dev-proxy.js'
import { createTestApp, embedded, type TestApp } from '../helpers/app.js'
import { connectLive } from '../helpers/live-client.js'
import { freePort } from '../helpers/process.js'

const FOREIGN_ORIGIN = 'http://evil.localhost:8080'

/**
 * `npx vite dashboard` beside the server: the dev server's pages are another origin than
 * PUBLIC_URL, and its proxy must get them through the server's cross-site check without
 * letting any other origin through.
 */
describe('the Vite dev server proxying /api (embedded)', () => {
  let t: TestApp
  let vite: ViteDevServer
  let viteUrl: string
  let root: string
  let cookie: string

  beforeAll(async () => {
    // The server as `npm run dev` runs it: PUBLIC_URL is the address the proxy targets.
    const port = await freePort()
    const serverUrl = `http://127.0.0.1:${port}`
    t = await createTestApp(embedded, { env: { PUBLIC_URL: serverUrl } })
    await t.app.listen({ host: '127.0.0.1', port })
    root = mkdtempSync(join(tmpdir(), 'ccp-vite-'))
    const vitePort = await freePort()
    vite = await createServer({
      configFile: false,
      root,
      logLevel: 'silent',
      server: { host: '127.0.0.1', port: vitePort, strictPort: true, proxy: { '/api': apiProxy(serverUrl) } },
    })
    await vite.listen()
    viteUrl = `http://127.0.0.1:${vitePort}`
    // Signed in through the proxy, as the dev dashboard does.
    const signIn = await fetch(`${viteUrl}/api/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: viteUrl },
      body: JSON.stringify({ token: t.adminToken }),
    })
    expect(signIn.status).toBe(200)
    cookie = signIn.headers.getSetCookie()[0]!.split(';')[0]!
  })
  afterAll(async () => {
    await vite?.close()
    await t?.close()
    if (root) rmSync(root, { recursive: true, force: true })
  })

  const clearCache = (origin: string) =>
    fetch(`${viteUrl}/api/cache/clear`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, origin },
      body: '{}',
    })

  it('passes the dev dashboard’s own requests and live socket (Origin: the dev server)', async () => {
    const res = await clearCache(viteUrl)
    expect(res.status).toBe(200)
    const live = await connectLive(viteUrl, { cookie, origin: viteUrl })
    expect((await live.next('hello')).data.principal.role).toBe('admin')
    await live.close()
  })

  it('still refuses another origin’s requests and sockets through the proxy', async () => {
    const res = await clearCache(FOREIGN_ORIGIN)
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('csrf_rejected')
    await expect(connectLive(viteUrl, { cookie, origin: FOREIGN_ORIGIN })).rejects.toThrow('upgrade refused: 403')
    // Same host, another port of it: not the dev server's origin either.
    const otherPort = await clearCache('http://localhost:1')
    expect(otherPort.status).toBe(403)
  })
})
