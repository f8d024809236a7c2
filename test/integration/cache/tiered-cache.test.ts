import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { backends, useTestApp } from '../../helpers/app.js'

describe.each(backends)('tiered cache ($name)', (backend) => {
  const t = useTestApp(backend, { env: { CACHE_L1_MAX_ENTRIES: '5', CACHE_L1_MAX_BYTES: '4096' } })

  const stats = () => t.app.cache.stats()

  it('stores under ${prefix}${namespace}:${sha256} with the namespace TTL', async () => {
    const { cache, redis } = t.app
    await cache.set('models', 'list', { ids: ['a'] })
    expect(await cache.get('models', 'list')).toEqual({ ids: ['a'] })
    expect(await cache.get('models', 'absent')).toBeUndefined()
    const key = cache.key('models', 'list')
    expect(key).toMatch(new RegExp(`^${t.config.cachePrefix}models:[0-9a-f]{64}$`))
    if (redis) {
      expect(JSON.parse((await redis.get(key))!)).toEqual({ ids: ['a'] })
      const ttl = await redis.ttl(key)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(t.config.cache.ttlSeconds.models)
    }
    expect(() => cache.key('nope', 'x')).toThrow()
  })

  it('bounds L1 by entries and by bytes', async () => {
    const { cache } = t.app
    for (let i = 0; i < 12; i++) await cache.set('search', `small ${i}`, i)
    expect((await stats()).l1.entries).toBeLessThanOrEqual(5)
    for (let i = 0; i < 4; i++) await cache.set('search', `big ${i}`, 'x'.repeat(1500))
    const { l1 } = await stats()
    expect(l1.bytes).toBeLessThanOrEqual(4096)
    expect(l1.entries).toBeLessThanOrEqual(3)
    // Evicted from L1 is still in Redis, when there is one.
    const oldest = await cache.get('search', 'small 0')
    expect(oldest).toBe(t.app.redis ? 0 : undefined)
  })

  it('expires entries after their TTL in every layer', async () => {
    await t.app.cache.set('session', 'short-lived', 'soon gone', { ttl: 1 })
    expect(await t.app.cache.get('session', 'short-lived')).toBe('soon gone')
    await sleep(1_200)
    expect(await t.app.cache.get('session', 'short-lived')).toBeUndefined()
  })

  it('computes concurrent identical misses once and shares the result', async () => {
    let calls = 0
    const compute = async () => {
      calls++
      await sleep(100)
      return { answer: 42 }
    }
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => t.app.cache.getOrCompute('conversation', 'stampede', compute)),
    )
    expect(calls).toBe(1)
    expect(outcomes.filter((o) => o.source === 'computed')).toHaveLength(1)
    expect(outcomes.filter((o) => o.source === 'shared')).toHaveLength(19)
    expect(outcomes.every((o) => o.value.answer === 42)).toBe(true)
    expect((await t.app.cache.getOrCompute('conversation', 'stampede', compute)).source).toBe('l1')
    expect(calls).toBe(1)
  })

  it('shares a failure with the callers waiting on it and caches nothing', async () => {
    let calls = 0
    const failing = async () => {
      calls++
      await sleep(50)
      throw new Error('source down')
    }
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => t.app.cache.getOrCompute('conversation', 'failing', failing)),
    )
    expect(results.every((r) => r.status === 'rejected')).toBe(true)
    expect(calls).toBe(1)
    const recovered = await t.app.cache.getOrCompute('conversation', 'failing', async () => 'back')
    expect(recovered).toMatchObject({ source: 'computed', value: 'back' })
  })

  it('skips the lookup on noCache and the write on noStore', async () => {
    const { cache } = t.app
    await cache.set('conversation', 'controlled', 'old')
    expect(await cache.getOrCompute('conversation', 'controlled', async () => 'new', { noCache: true })).toMatchObject({
      source: 'computed',
      value: 'new',
    })
    expect(await cache.get('conversation', 'controlled')).toBe('new')
    expect(await cache.getOrCompute('conversation', 'unstored', async () => 'v', { noStore: true })).toMatchObject({
      source: 'computed',
    })
    expect(await cache.get('conversation', 'unstored')).toBeUndefined()
  })

  it('clears one namespace, a sub-namespace, or every cache namespace', async () => {
    const { cache } = t.app
    await cache.clear()
    await cache.set('ai_response', 'a', 1)
    await cache.set('ai_response:team', 'b', 2)
    await cache.set('models', 'c', 3)
    expect(await cache.clear({ namespace: 'ai_response:team' })).toEqual({ l1: 1, l2: t.app.redis ? 1 : 0 })
    expect(await cache.get('ai_response', 'a')).toBe(1)
    await cache.set('ai_response:team', 'b', 2)
    expect((await cache.clear({ namespace: 'ai_response' })).l1).toBe(2)
    expect(await cache.get('models', 'c')).toBe(3)
    expect(await cache.get('ai_response:team', 'b')).toBeUndefined()
    expect(await cache.clear()).toEqual({ l1: 1, l2: t.app.redis ? 1 : 0 })
    expect(await cache.get('models', 'c')).toBeUndefined()
  })

  if (backend.redisUrl)
    it('reads L2 into L1 for the rest of the entry’s TTL, and ignores values it cannot parse', async () => {
      const { cache, redis } = t.app
      await cache.clear()
      const key = cache.key('search', 'written elsewhere')
      await redis!.set(key, JSON.stringify({ from: 'another instance' }), 'PX', 60_000)
      const before = (await stats()).namespaces.search
      expect(await cache.get('search', 'written elsewhere')).toEqual({ from: 'another instance' })
      expect(await cache.get('search', 'written elsewhere')).toEqual({ from: 'another instance' })
      const after = (await stats()).namespaces.search
      expect(after.l2_hits - before.l2_hits).toBe(1)
      expect(after.l1_hits - before.l1_hits).toBe(1)

      await redis!.set(cache.key('search', 'garbage'), 'not json {', 'PX', 60_000)
      expect(await cache.get('search', 'garbage')).toBeUndefined()
    })

  it('reports layers, per-namespace hit rates, L1 size and, with Redis, its figures and our key count', async () => {
    const { cache } = t.app
    await cache.clear()
    await cache.set('models', 'x', 1)
    await cache.get('models', 'x')
    await cache.get('models', 'missing')
    const s = await stats()
    expect(s.layers).toEqual({ l1: true, l2: Boolean(backend.redisUrl) })
    expect(s.namespaces.models.hits).toBeGreaterThan(0)
    expect(s.namespaces.models.misses).toBeGreaterThan(0)
    expect(s.namespaces.models.hit_rate).toBeGreaterThan(0)
    expect(s.namespaces.models.hit_rate).toBeLessThan(1)
    expect(s.namespaces.models.ttl_seconds).toBe(300)
    expect(s.l1).toMatchObject({ entries: 1, max_entries: 5, max_bytes: 4096 })
    if (backend.redisUrl) {
      expect(s.l2).toMatchObject({ connected: true, cache_keys: 1 })
      expect(s.l2!.keys).toBeGreaterThanOrEqual(1)
      expect(typeof s.l2!.used_memory_human).toBe('string')
      expect(s.l2!.keyspace_hits).toBeGreaterThanOrEqual(0)
      expect(s.l2!.connected_clients).toBeGreaterThan(0)
    } else {
      expect(s.l2).toBeNull()
    }
  })
})
