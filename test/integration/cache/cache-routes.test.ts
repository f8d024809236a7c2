import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, createTestApp, type Backend, type TestApp, createToken } from '../../helpers/app.js'
import { FAST_SIM } from '../../helpers/chat.js'
import { DisposableRedis } from '../../helpers/redis-server.js'

/**
 * The shared backends, plus PGlite with a redis-server of our own: the Redis cases run on every
 * machine, whether or not REDIS_URL is set (its URL is known only once beforeAll started it).
 */
const ownRedis: Backend = { name: 'embedded + own redis-server', databaseUrl: undefined, redisUrl: undefined }
const cases = [...backends, ownRedis]
const withRedis = (backend: Backend) => backend === ownRedis || Boolean(backend.redisUrl)

describe.each(cases)('cache admin API ($name)', (backend) => {
  let server: DisposableRedis | undefined
  let t: TestApp
  let viewer: string
  let chat: string
  beforeAll(async () => {
    if (backend === ownRedis) {
      server = await DisposableRedis.start()
      ownRedis.redisUrl = server.url
    }
    t = await createTestApp(backend, { env: FAST_SIM })
    viewer = (await createToken(t, 'viewer')).secret
    chat = (await createToken(t, 'chat')).secret
  })
  afterAll(async () => {
    await t?.close()
    await server?.kill()
  })

  const clear = (payload?: object, token = t.adminToken) =>
    t.app.inject({ method: 'POST', url: '/api/cache/clear', headers: t.auth(token), ...(payload ? { payload } : {}) })
  const ask = (content: string) =>
    t.request('POST', '/v1/chat/completions', { messages: [{ role: 'user', content }] }, { token: chat })

  it('shows stats to viewers and admins only', async () => {
    expect((await t.request('GET', '/api/cache/stats', undefined, { token: viewer })).statusCode).toBe(200)
    expect((await t.request('GET', '/api/cache/stats', undefined, { token: chat })).statusCode).toBe(403)
    expect((await t.app.inject({ method: 'GET', url: '/api/cache/stats' })).statusCode).toBe(401)
  })

  it('lets only admins clear, and validates the namespace', async () => {
    expect((await clear({}, viewer)).statusCode).toBe(403)
    expect((await clear({}, chat)).statusCode).toBe(403)
    expect((await clear({ namespace: 'ratelimit' })).statusCode).toBe(400)
    expect((await clear({ namespace: 'ai_response:*' })).statusCode).toBe(400)
    expect((await clear({ other: 1 })).statusCode).toBe(400)
  })

  it('clears a namespace, reports how many keys went, writes the audit log, and the next request is a MISS', async () => {
    await ask('cached before the clear')
    expect((await ask('cached before the clear')).headers['x-cache']).toBe('HIT')
    const res = await clear({ namespace: 'ai_response' })
    expect(res.statusCode).toBe(200)
    expect(res.json().namespace).toBe('ai_response')
    expect(res.json().deleted.l1).toBeGreaterThan(0)
    expect(res.json().deleted.l2).toBe(backend.redisUrl ? res.json().deleted.l1 : 0)
    expect((await ask('cached before the clear')).headers['x-cache']).toBe('MISS')

    const audit = await t.request('GET', '/api/audit?action=cache.clear&limit=1')
    expect(audit.json().entries[0]).toMatchObject({
      action: 'cache.clear',
      target: 'ai_response',
      result: 'ok',
      params: { namespace: 'ai_response' },
    })

    // No body at all: every namespace.
    const all = await clear()
    expect(all.statusCode).toBe(200)
    expect(all.json().namespace).toBeNull()
  })

  if (withRedis(backend))
    it('deletes only cache keys under our prefix: foreign keys and our other features’ keys survive', async () => {
      const redis = new Redis(backend.redisUrl!)
      const foreign = `someone-else:${randomBytes(6).toString('hex')}`
      const ours = `${t.config.cachePrefix}ratelimit:${randomBytes(6).toString('hex')}`
      try {
        await redis.set(foreign, 'keep me')
        await redis.set(ours, 'not a cache entry')
        await ask('a cache entry to clear')
        const res = await clear()
        expect(res.json().deleted.l2).toBeGreaterThan(0)
        expect(await redis.get(foreign)).toBe('keep me')
        expect(await redis.get(ours)).toBe('not a cache entry')
        let cursor = '0'
        const left: string[] = []
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${t.config.cachePrefix}ai_response:*`, 'COUNT', 500)
          cursor = next
          left.push(...keys)
        } while (cursor !== '0')
        expect(left).toEqual([])
      } finally {
        await redis.del(foreign, ours)
        redis.disconnect()
      }
    })
})
