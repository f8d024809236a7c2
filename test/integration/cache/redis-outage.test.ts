import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestApp, embedded, type TestApp } from '../../helpers/app.js'
import { FAST_SIM, newConversation } from '../../helpers/chat.js'
import { DisposableRedis } from '../../helpers/redis-server.js'

/**
 * Redis dies mid-run and comes back. Runs against a redis-server of the test's own (never the
 * shared one), so it can be killed; it fails on a machine without redis-server.
 */
describe('a Redis outage mid-run', () => {
  let server: DisposableRedis
  let t: TestApp
  let probe: Redis
  beforeAll(async () => {
    server = await DisposableRedis.start()
    t = await createTestApp(
      { ...embedded, name: 'embedded + own redis-server', redisUrl: server.url },
      { env: { ...FAST_SIM, REDIS_COMMAND_TIMEOUT_MS: '200' } },
    )
    probe = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 200 })
    probe.on('error', () => {})
  })
  afterAll(async () => {
    probe?.disconnect()
    await server?.restart().catch(() => {}) // the app's close deletes its keys there
    await t?.close()
    await server?.kill()
  })

  const ask = (content: string, extra: Record<string, unknown> = {}) => t.chat(content, extra)

  it('fails no chat request, degrades to L1, and reconnects by itself', async () => {
    const before = await ask('asked before the outage')
    expect(before.headers['x-cache']).toBe('MISS')
    await probe.connect()
    expect(await probe.exists(String(before.headers['x-cache-key']))).toBe(1)
    probe.disconnect()

    await server.kill()

    // Whether or not the client has noticed yet, every request answers.
    const during = await Promise.all([
      ask('asked before the outage'),
      ask('asked during the outage'),
      ask('asked during the outage', { stream: true }),
      ask('asked during the outage, streamed', { stream: true }),
    ])
    expect(during.map((r) => r.statusCode)).toEqual([200, 200, 200, 200])
    expect(during[0]!.headers['x-cache']).toBe('HIT') // from L1
    const { conversationId } = await newConversation(t)
    const message = await t.request('POST', `/api/conversations/${conversationId}/messages`, {
      content: 'still there?',
    })
    expect(message.statusCode).toBe(201)
    expect((await ask('asked during the outage')).headers['x-cache']).toBe('HIT') // L1 still works

    const stats = (await t.request('GET', '/api/cache/stats')).json()
    expect(stats.l2.connected).toBe(false)
    const health = await t.app.inject({ method: 'GET', url: '/health/ready' })
    expect(health.statusCode).toBe(503)
    // Clearing cannot reach Redis: L1 goes, the admin is told, and it is audited as an error.
    const clear = await t.request('POST', '/api/cache/clear', {})
    expect(clear.statusCode).toBe(503)
    expect(clear.json().error.code).toBe('cache_unavailable')

    await server.restart()
    await vi.waitFor(() => expect(t.app.redis!.status).toBe('ready'), { timeout: 15_000, interval: 100 })
    const after = await ask('asked after the outage')
    expect(after.statusCode).toBe(200)
    await probe.connect()
    expect(await probe.exists(String(after.headers['x-cache-key']))).toBe(1)
  })
})
