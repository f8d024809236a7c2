import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { useInstances, real, type Backend, type TestApp } from '../../helpers/app.js'
import { FAST_SIM } from '../../helpers/chat.js'
import { DisposableRedis } from '../../helpers/redis-server.js'

/**
 * Two instances sharing Redis (and, on the real backend, the Postgres schema) under one
 * prefix: what one computed, the other answers from L2, and a clear on one empties both.
 */
const ownRedis: Backend = { name: 'two embedded apps + own redis-server', databaseUrl: undefined, redisUrl: undefined }
const cases = [...(real?.redisUrl ? [real] : []), ownRedis]

describe.each(cases)('two instances on one Redis ($name)', (backend) => {
  let server: DisposableRedis | undefined
  beforeAll(async () => {
    if (backend === ownRedis) {
      server = await DisposableRedis.start()
      ownRedis.redisUrl = server.url
    }
  })
  afterAll(async () => server?.kill())
  // The reply cache is per scope, and a token's scope names its row id: with two embedded
  // databases the one ADMIN_TOKEN has two ids, so that case shares the cache globally.
  const env = backend === ownRedis ? { ...FAST_SIM, CACHE_SCOPE: 'global' } : FAST_SIM
  const [a, b] = useInstances(backend, 2, { env }) as [TestApp, TestApp]

  const ask = (t: TestApp, content: string, stream = false) => t.chat(content, { stream })

  it('answers on one instance what the other computed, from L2', async () => {
    const first = await ask(a, 'shared question')
    expect(first.headers['x-cache']).toBe('MISS')
    const second = await ask(b, 'shared question', true)
    expect(second.headers['x-cache']).toBe('HIT')
    expect(second.headers['x-cache-key']).toBe(first.headers['x-cache-key'])
    const stats = await b.app.cache.stats()
    expect(stats.namespaces.ai_response.l2_hits).toBe(1)
    expect((await ask(b, 'shared question')).headers['x-cache']).toBe('HIT')
    expect((await b.app.cache.stats()).namespaces.ai_response.l1_hits).toBe(1)
  })

  it('empties the other instance’s L1 too when one clears', async () => {
    await ask(a, 'cleared everywhere')
    await ask(b, 'cleared everywhere')
    expect((await b.app.cache.stats()).l1.entries).toBeGreaterThan(0)
    const res = await a.request('POST', '/api/cache/clear', { namespace: 'ai_response' })
    expect(res.statusCode).toBe(200)
    await vi.waitFor(async () => expect((await b.app.cache.stats()).l1.entries).toBe(0), {
      timeout: 5_000,
      interval: 50,
    })
    expect((await ask(b, 'cleared everywhere')).headers['x-cache']).toBe('MISS')
  })
})
