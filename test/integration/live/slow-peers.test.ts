import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import type { Snapshot } from '../../../server/metrics/snapshot.js'
import { backends, createTestApp, type TestApp } from '../../helpers/app.js'
import { connectLive, listenOnce } from '../../helpers/live-client.js'

const yieldToIo = () => new Promise((resolve) => setImmediate(resolve))

/** A snapshot of roughly 200 KB: many label sets, as a busy fleet with many routes would make. */
function bulkySnapshot(at: number, instance: string): Snapshot {
  const signals = Array.from({ length: 2000 }, (_, i) => ({
    name: 'http_requests_per_second',
    labels: { route: `/api/route-${i}-${'x'.repeat(60)}` },
    value: i,
  }))
  return { at, instance, signals }
}

/** The server side of the most recently opened socket. */
function newestServerSocket(t: TestApp): WebSocket {
  return [...t.app.websocketServer.clients].at(-1)!
}

describe.each(backends)('live hub: slow and silent peers ($name)', (backend) => {
  let t: TestApp
  let baseUrl: string
  beforeAll(async () => {
    // No sampler timer: this file drives every snapshot itself.
    t = await createTestApp(backend, { env: { SAMPLE_INTERVAL_MS: '60000' } })
    baseUrl = await listenOnce(t.app)
  })
  afterAll(async () => t?.close())

  it('skips snapshots for a peer that stopped reading, then closes it with 1013 before 8 MiB pile up', async () => {
    const { skipSnapshotsAboveBytes, closeAboveBytes } = t.app.live.limits
    const healthy = await connectLive(baseUrl, t.auth())
    await healthy.next('history')
    const slow = await connectLive(baseUrl, t.auth())
    await slow.next('history')
    const serverSide = newestServerSocket(t)
    slow.socket.pause()

    // Snapshots keep coming; once the slow peer's unsent bytes pass the skip limit it gets none.
    const before = t.app.live.stats().skippedSnapshots
    let at = Date.now()
    for (let i = 0; i < 500 && t.app.live.stats().skippedSnapshots === before; i++) {
      t.app.events.emit('snapshot', bulkySnapshot(++at, t.config.instanceId))
      await yieldToIo()
    }
    expect(t.app.live.stats().skippedSnapshots).toBeGreaterThan(before)
    const bufferedWhenSkipping = serverSide.bufferedAmount
    expect(bufferedWhenSkipping).toBeGreaterThan(skipSnapshotsAboveBytes)
    // Skipping keeps the buffer from growing while a peer that reads gets every snapshot.
    for (let i = 0; i < 20; i++) {
      t.app.events.emit('snapshot', bulkySnapshot(++at, t.config.instanceId))
      await healthy.next('snapshot', (m) => m.data.at === at)
    }
    expect(serverSide.bufferedAmount).toBeLessThanOrEqual(bufferedWhenSkipping)

    // Events are never skipped, so they are what can push a peer past the hard limit.
    const closedBefore = t.app.live.stats().closedSlow
    for (let i = 0; i < 400 && t.app.live.stats().closedSlow === closedBefore; i++) {
      t.app.events.emit('health', {
        component: 'provider',
        up: i % 2 === 0,
        latencyMs: i,
        error: 'e'.repeat(256 * 1024),
      })
      await yieldToIo()
    }
    expect(t.app.live.stats().closedSlow).toBe(closedBefore + 1)
    expect(serverSide.bufferedAmount).toBeLessThanOrEqual(closeAboveBytes + 300 * 1024)

    slow.socket.resume()
    expect((await slow.closed).code).toBe(1013)
    expect(healthy.socket.readyState).toBe(healthy.socket.OPEN)
    await healthy.close()
  })

  it('drops a peer that misses two pings and keeps one that answers', async () => {
    const responsive = await connectLive(baseUrl, t.auth())
    await responsive.next('history')
    const responsiveServerSide = newestServerSocket(t)
    const silent = await connectLive(baseUrl, t.auth())
    await silent.next('history')
    silent.socket.pause()
    const dropped = t.app.live.stats().droppedUnresponsive

    for (let round = 1; round <= 2; round++) {
      const pong = once(responsiveServerSide, 'pong')
      await t.app.live.heartbeat()
      await pong
      expect(t.app.live.size).toBe(2)
    }
    // Third round: the silent peer has missed two pings in a row.
    await t.app.live.heartbeat()
    expect(t.app.live.stats().droppedUnresponsive).toBe(dropped + 1)
    expect(t.app.live.size).toBe(1)
    expect(responsiveServerSide.readyState).toBe(responsiveServerSide.OPEN)
    expect((await responsive.next('heartbeat')).data.at).toEqual(expect.any(Number))
    await responsive.close()
    silent.socket.resume()
    await silent.closed
  })
})
