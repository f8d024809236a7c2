import { hostname } from 'node:os'
import fp from 'fastify-plugin'
import { InstancesView } from '../contract/fleet.js'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { VERSION } from '../version.js'
import { otherInstancesOnDatabase } from '../infra/db/connect.js'
import { createLockStore } from '../infra/locks/lease.js'
import { InstanceRegistry } from './instances.js'
import { LeaderElection } from './leader.js'

export interface Fleet {
  instanceId: string
  /** True on the one instance that evaluates alerts and delivers notifications. */
  isLeader(): boolean
  leader: LeaderElection
  instances: InstanceRegistry
}

declare module 'fastify' {
  interface FastifyInstance {
    fleet: Fleet
  }
}

/**
 * Several instances behind a load balancer share Postgres and Redis: each announces itself
 * (heartbeat key with TTL) and one of them, holding a Redis lease, leads alerting.
 */
export default fp(
  async function fleetPlugin(app: FastifyInstance) {
    const { config } = app
    const startedAt = new Date().toISOString()
    const leaderKey = `${config.cachePrefix}leader:alerting`
    // Leadership's database lock: an advisory lock on Postgres, in-process on PGlite (one process only).
    const databaseLocks = createLockStore({
      redis: null,
      database: app.database,
      prefix: `${config.cachePrefix}fleet:`,
      log: app.log,
    })
    const leader = new LeaderElection(
      app.redis,
      leaderKey,
      config.instanceId,
      config.fleet.leaderLockTtlMs,
      app.log,
      databaseLocks,
    )
    const instances = new InstanceRegistry(
      app.redis,
      config.cachePrefix,
      { id: config.instanceId, version: VERSION, host: hostname(), pid: process.pid, startedAt },
      config.fleet.heartbeatMs,
    )
    app.decorate('fleet', { instanceId: config.instanceId, isLeader: () => leader.isLeader(), leader, instances })

    app.addHook('onReady', async () => {
      instances.start()
      leader.start()
      if (!app.redis) await warnAboutOtherInstances(app)
    })
    app.addHook('preClose', async () => {
      await leader.stop()
      await instances.stop()
    })

    app.withTypeProvider<TypeBoxTypeProvider>().get(
      '/api/instances',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['fleet'],
          summary: 'Instances sharing this Redis, with version, uptime, last heartbeat and which one leads alerting',
          response: {
            200: InstancesView,
          },
        },
      },
      async () => {
        const now = Date.now()
        const [list, leaderId] = await Promise.all([instances.list(now), leader.currentLeader()])
        return {
          redis: app.redis !== null,
          leaderId,
          serverTime: new Date(now).toISOString(),
          heartbeatIntervalMs: config.fleet.heartbeatMs,
          instances: list.map((i) => ({
            ...i,
            uptimeSeconds: Math.max(0, (now - Date.parse(i.startedAt)) / 1000),
            self: i.id === config.instanceId,
            leader: i.id === leaderId,
          })),
        }
      },
    )
  },
  { name: 'fleet', dependencies: ['redis', 'database', 'auth'] },
)

/**
 * Without Redis there is no leader election, so a second instance on the same database
 * would evaluate alerts and run jobs twice. We can't prevent that, but we can say so.
 */
async function warnAboutOtherInstances(app: FastifyInstance): Promise<void> {
  if (app.database.kind !== 'postgres') return
  const others = await otherInstancesOnDatabase(app.db, app.config.instanceId)
  if (others.length > 0) {
    app.log.warn(
      { otherInstances: others },
      'other instances are using this database but REDIS_URL is unset: without Redis each instance runs alone (alerts and jobs would run on each); set REDIS_URL on all of them to run as a fleet',
    )
  } else {
    app.log.info('running as a single instance (REDIS_URL unset)')
  }
}
