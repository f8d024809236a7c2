import { once } from 'node:events'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type * as WsModule from 'ws'
import type { WebSocket as ServerSocket } from 'ws'
import { LiveConnection } from '../src/lib/live.svelte.js'

// This project resolves packages for the browser, where `ws` is a stub: load Node's build
// by its file path (a path bypasses the package's conditional exports).
const wsPath = join(process.cwd(), 'node_modules/ws/index.js')
const { WebSocketServer, WebSocket: WsClient } = createRequire(wsPath)(wsPath) as typeof WsModule
// jsdom's own WebSocket trips over its Event class in this Node; ws's client has the same
// browser-style API (onopen, onmessage, onclose, close(code, reason)).
const createSocket = (url: string) => new WsClient(url) as unknown as WebSocket

const hello = {
  type: 'hello',
  data: {
    instance: 'test-1',
    serverTime: 0,
    sampleIntervalMs: 1000,
    heartbeatIntervalMs: 15_000,
    historyMinutes: 15,
    principal: { name: 'n', role: 'admin' },
  },
}

/** A real WebSocket server standing in for /api/live; it greets every connection. */
async function liveServer() {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await once(server, 'listening')
  const sockets: ServerSocket[] = []
  server.on('connection', (socket) => {
    sockets.push(socket)
    socket.send(JSON.stringify(hello))
  })
  const { port } = server.address() as AddressInfo
  return { server, sockets, url: `ws://127.0.0.1:${port}/api/live`, close: () => new Promise((r) => server.close(r)) }
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10))
}

describe('the live connection of the dashboard', () => {
  const cleanups: Array<() => unknown> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })
  /** A connection to `srv` whose session stays valid, stopped (with the server) after the test. */
  const connect = (
    srv: { url: string; close: () => unknown },
    options: Partial<ConstructorParameters<typeof LiveConnection>[0]> = {},
  ) => {
    const live = new LiveConnection({
      url: srv.url,
      onAuthLost: () => {},
      checkSession: async () => true,
      createSocket,
      ...options,
    })
    cleanups.push(() => live.stop(), srv.close)
    return live
  }

  it('goes live on hello and dispatches messages by type', async () => {
    const srv = await liveServer()
    const live = connect(srv)
    const snapshots: number[] = []
    live.on('snapshot', (m) => snapshots.push(m.data.at))
    expect(live.status).toBe('idle')
    live.start()
    expect(live.status).toBe('connecting')
    await until(() => live.status === 'live')
    expect(live.hello?.instance).toBe('test-1')
    srv.sockets[0]!.send(JSON.stringify({ type: 'snapshot', data: { at: 42, instance: 'test-1', signals: [] } }))
    await until(() => snapshots.length === 1)
    expect(snapshots).toEqual([42])
  })

  it('shows reconnecting when the server goes away and comes back by itself', async () => {
    const srv = await liveServer()
    const live = connect(srv, { random: () => 0 })
    live.start()
    await until(() => live.status === 'live')
    srv.sockets[0]!.close(1001, 'restarting')
    await until(() => live.status === 'reconnecting')
    expect(live.retryAt).not.toBeNull()
    await until(() => srv.sockets.length === 2 && live.status === 'live')
    expect(live.retryAt).toBeNull()
  })

  it('stops and reports lost auth when the server closes with 1008 (token revoked)', async () => {
    const srv = await liveServer()
    let lost = 0
    const live = new LiveConnection({
      url: srv.url,
      onAuthLost: () => lost++,
      checkSession: async () => true,
      createSocket,
    })
    cleanups.push(() => live.stop(), srv.close)
    live.start()
    await until(() => live.status === 'live')
    srv.sockets[0]!.close(1008, 'token revoked')
    await until(() => lost === 1)
    expect(live.status).toBe('idle')
    expect(srv.sockets).toHaveLength(1)
  })

  it('asks whether the session still holds when a connection is refused, and stops if not', async () => {
    const refusing = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      verifyClient: (_info, done) => done(false, 401),
    })
    await once(refusing, 'listening')
    const { port } = refusing.address() as AddressInfo
    let lost = 0
    let asked = 0
    const live = new LiveConnection({
      url: `ws://127.0.0.1:${port}/api/live`,
      onAuthLost: () => lost++,
      checkSession: async () => {
        asked++
        return false
      },
      createSocket,
    })
    cleanups.push(
      () => live.stop(),
      () => new Promise((r) => refusing.close(r)),
    )
    live.start()
    await until(() => lost === 1)
    expect(asked).toBe(1)
    expect(live.status).toBe('idle')
  })
})
