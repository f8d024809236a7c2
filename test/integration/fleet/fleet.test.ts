import { afterAll, describe, expect, it } from 'vitest'
import { generateToken } from '../../../server/auth/token-repository.js'
import { otherInstancesOnDatabase } from '../../../server/infra/db/connect.js'
import { createTestApp, dropTestData, embedded, real, uniqueName, type TestApp } from '../../helpers/app.js'

describe('a single instance without Redis', () => {
  let t: TestApp
  afterAll(async () => t?.close())

  it('leads and lists itself as the only instance', async () => {
    t = await createTestApp(embedded, { env: { INSTANCE_ID: 'solo-1', INSTANCE_HEARTBEAT_MS: '7000' } })
    expect(t.app.fleet.isLeader()).toBe(true)
    const before = Date.now()
    const res = await t.request('GET', '/api/instances')
    const after = Date.now()
    expect(res.statusCode).toBe(200)
    const body = res.json()
    // The server's time and the heartbeat interval let the panel age heartbeats and spot stale instances.
    expect(Date.parse(body.serverTime)).toBeGreaterThanOrEqual(before)
    expect(Date.parse(body.serverTime)).toBeLessThanOrEqual(after)
    expect(body.heartbeatIntervalMs).toBe(7000)
    // Uptime is measured on that clock, not rounded to whole seconds.
    const [solo] = body.instances
    expect(solo.uptimeSeconds).toBeCloseTo((Date.parse(body.serverTime) - Date.parse(solo.startedAt)) / 1000, 6)
    expect(body.redis).toBe(false)
    expect(body.leaderId).toBe('solo-1')
    expect(body.instances).toEqual([
      expect.objectContaining({ id: 'solo-1', self: true, leader: true, version: expect.any(String) }),
    ])
  })
})

if (real?.redisUrl) {
  const backend = real
  describe('several instances sharing Postgres and Redis', () => {
    const schema = uniqueName('fleet')
    const cachePrefix = `ccp-test:${uniqueName('fleet')}:`
    const apps: TestApp[] = []
    const closed = new Set<TestApp>()
    const adminToken = generateToken()
    const start = async (id: string) => {
      const t = await createTestApp(backend, {
        schema,
        cachePrefix,
        keepData: true,
        env: { INSTANCE_ID: id, ADMIN_TOKEN: adminToken, LEADER_LOCK_TTL_MS: '3000', INSTANCE_HEARTBEAT_MS: '200' },
      })
      apps.push(t)
      return t
    }
    afterAll(async () => {
      for (const t of apps) await t.app.close().catch(() => {})
      await dropTestData(backend, { schema, cachePrefix })
    })

    it('elects exactly one leader and lists every instance with version and uptime', async () => {
      const [a, b, c] = [await start('node-a'), await start('node-b'), await start('node-c')]
      for (const t of [a, b, c]) await t.app.fleet.leader.attempt()
      expect([a, b, c].filter((t) => t.app.fleet.isLeader())).toHaveLength(1)

      const res = await b.request('GET', '/api/instances')
      expect(res.statusCode, res.body).toBe(200)
      const body = res.json()
      expect(body.instances.map((i: { id: string }) => i.id).sort()).toEqual(['node-a', 'node-b', 'node-c'])
      const leaderId = [a, b, c].find((t) => t.app.fleet.isLeader())!.config.instanceId
      expect(body.leaderId).toBe(leaderId)
      expect(body.instances.filter((i: { leader: boolean }) => i.leader).map((i: { id: string }) => i.id)).toEqual([
        leaderId,
      ])
      expect(body.instances.find((i: { id: string }) => i.id === 'node-b').self).toBe(true)
    })

    it('hands leadership over at once when the leader shuts down cleanly', async () => {
      const leader = apps.find((t) => t.app.fleet.isLeader())!
      await leader.app.close()
      closed.add(leader)
      const live = apps.filter((t) => !closed.has(t))
      // The lease was released, not left to expire: the next attempt of another instance wins it.
      let rounds = 0
      while (live.filter((t) => t.app.fleet.isLeader()).length !== 1 && rounds++ < 50) {
        for (const t of live) await t.app.fleet.leader.attempt()
      }
      expect(live.filter((t) => t.app.fleet.isLeader())).toHaveLength(1)
      expect(await live[0]!.app.fleet.leader.currentLeader()).not.toBe(leader.config.instanceId)
    })

    it('lets another instance take over once a leader that lost Redis lets its lease expire', async () => {
      const live = apps.filter((t) => !closed.has(t))
      const leader = live.find((t) => t.app.fleet.isLeader())!
      const follower = live.find((t) => t !== leader)!
      leader.app.redis!.disconnect() // the leader can no longer renew, and never releases
      expect(await leader.app.fleet.leader.attempt()).toBe(false)
      // Until the lease expires the follower must not lead; afterwards it must.
      expect(await follower.app.fleet.leader.currentLeader()).toBe(leader.config.instanceId)
      expect(await follower.app.fleet.leader.attempt()).toBe(false)
      let attempts = 0
      while (!(await follower.app.fleet.leader.attempt()) && attempts++ < 200)
        await new Promise((r) => setTimeout(r, 100))
      expect(follower.app.fleet.isLeader()).toBe(true)
      expect(await follower.app.fleet.leader.currentLeader()).toBe(follower.config.instanceId)
    })
  })
}

if (real?.databaseUrl) {
  const backend = { ...real, name: 'postgres without Redis', redisUrl: undefined }
  describe('instances sharing Postgres without Redis', () => {
    const schema = uniqueName('fleet_noredis')
    const apps: TestApp[] = []
    afterAll(async () => {
      for (const t of apps) await t.app.close().catch(() => {})
      await dropTestData(backend, { schema })
    })

    it('each sees the others by their connections in pg_stat_activity (what the start-up warning names)', async () => {
      for (const id of ['lonely-a', 'lonely-b'])
        apps.push(await createTestApp(backend, { schema, keepData: true, env: { INSTANCE_ID: id } }))
      const [a, b] = apps as [TestApp, TestApp]
      // Both pools hold a connection now (migrations and start-up ran through them).
      await Promise.all([a, b].map((t) => t.app.db.selectFrom('job_runs').select('id').limit(1).execute()))
      const seenByA = await otherInstancesOnDatabase(a.app.db, 'lonely-a')
      const seenByB = await otherInstancesOnDatabase(b.app.db, 'lonely-b')
      expect(seenByA).toContain('lonely-b')
      expect(seenByA).not.toContain('lonely-a')
      expect(seenByB).toContain('lonely-a')
      expect(seenByB).not.toContain('lonely-b')
    })
  })
}
