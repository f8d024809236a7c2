import { describe, expect, it } from 'vitest'
import { AdvisoryLockStore } from '../../../server/infra/locks/advisory.js'
import { createLockStore, RedisLockStore, type LockStore } from '../../../server/infra/locks/lease.js'
import { backends, uniqueName, useTestApp } from '../../helpers/app.js'
import { waitFor } from '../../helpers/wait.js'

describe.each(backends)('job locks ($name)', (backend) => {
  const t = useTestApp(backend)

  /** The store the app picks, plus advisory locks whenever a real Postgres is there. */
  function stores(): Array<[string, () => LockStore]> {
    const { app } = t
    const picked = (): LockStore =>
      createLockStore({ redis: app.redis, database: app.database, prefix: app.config.cachePrefix, log: app.log })
    const list: Array<[string, () => LockStore]> = [[picked().kind, picked]]
    if (app.database.kind === 'postgres' && app.redis)
      list.push([
        'postgres',
        () => new AdvisoryLockStore(app.db, `${app.config.cachePrefix}${app.database.schema}:`, app.log),
      ])
    return list
  }

  it('picks Redis when configured, advisory locks on a real Postgres without it, in-process for PGlite', () => {
    expect(stores()[0]![0]).toBe(backend.redisUrl ? 'redis' : backend.databaseUrl ? 'postgres' : 'local')
  })

  it('grants a lock to one holder at a time and again after release, whatever the store', async () => {
    for (const [kind, make] of stores()) {
      // Two stores on a shared backend stand for two instances; in-process locks are one store per process.
      const shared = make()
      const [a, b] = kind === 'local' ? [shared, shared] : [make(), make()]
      const name = uniqueName('lock')
      const lease = await a!.tryAcquire(name)
      expect(lease, kind).not.toBeNull()
      expect(await b!.tryAcquire(name), kind).toBeNull()
      await lease!.release()
      const again = await b!.tryAcquire(name)
      expect(again, kind).not.toBeNull()
      await again!.release()
    }
  })
})

describe.each(backends.filter((b) => b.redisUrl))('Redis job lock leases ($name)', (backend) => {
  const t = useTestApp(backend)

  it('renews a held lease past its first expiry', async () => {
    // A lease of 3 s renewed every 300 ms, held for 4 s: a renewal timer late by up to 2.7 s on
    // a busy machine still keeps it (a 300 ms lease did not, in CI under load).
    const store = new RedisLockStore(t.app.redis!, t.config.cachePrefix, t.app.log, 3_000, 300)
    const lease = (await store.tryAcquire('renewed'))!
    await new Promise((r) => setTimeout(r, 4_000))
    expect(await store.tryAcquire('renewed')).toBeNull()
    expect(lease.lost.aborted).toBe(false)
    await lease.release()
  })

  it('never releases a lock someone else took after the lease expired, and tells the old holder it lost it', async () => {
    // Renewal slower than the lease: the lease lapses in between.
    const slow = new RedisLockStore(t.app.redis!, t.config.cachePrefix, t.app.log, 150, 600)
    const other = new RedisLockStore(t.app.redis!, t.config.cachePrefix, t.app.log)
    const stale = (await slow.tryAcquire('contended'))!
    const current = await waitFor('the lease to lapse', () => other.tryAcquire('contended').then((l) => l ?? undefined))
    await waitFor('the old holder to learn it lost the lock', () => (stale.lost.aborted ? true : undefined))
    await stale.release()
    expect(await other.tryAcquire('contended')).toBeNull()
    await current.release()
    expect(await other.tryAcquire('contended')).not.toBeNull()
  })
})
