import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { cacheWarmJob } from './definitions/cache-warm.js'
import { EVENT_LOOP_COMPONENT, healthCheckJob } from './definitions/health-check.js'
import { indexMaintenanceJob } from './definitions/index-maintenance.js'
import { retentionJob } from './definitions/retention.js'
import { vacuumAnalyzeJob } from './definitions/vacuum-analyze.js'
import { createLockStore } from '../infra/locks/lease.js'
import { diskCheck, EventLoopProbe } from './probes.js'
import { JobRepository } from './repository.js'
import { jobRoutes } from './routes.js'
import { JobScheduler } from './scheduler.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The job scheduler: declare jobs, run them now, pause, resume, reschedule. */
    jobs: JobScheduler
  }
}

/** Lag beyond which the event loop counts as down when MAX_EVENT_LOOP_DELAY_MS is off (0). */
const DEFAULT_EVENT_LOOP_LIMIT_MS = 1_000

/**
 * Scheduled jobs (cache-warm, index-maintenance, vacuum-analyze, health-check, retention) and
 * their API. Scheduling starts once the app is ready; on close, runs in flight are stopped
 * and recorded before the database goes away.
 */
export default fp(
  async function jobsPlugin(app: FastifyInstance) {
    const { config } = app
    const log = app.log.child({ component: 'jobs' })
    const scheduler = new JobScheduler({
      repo: new JobRepository(app.db),
      locks: createLockStore({ redis: app.redis, database: app.database, prefix: config.cachePrefix, log }),
      metrics: app.metrics,
      events: app.events,
      log,
      instanceId: config.instanceId,
      envSchedules: config.jobs.schedules,
      enabled: config.jobs.enabled,
    })

    const eventLoop = new EventLoopProbe(config.maxEventLoopDelayMs || DEFAULT_EVENT_LOOP_LIMIT_MS)
    app.health.register('disk', diskCheck(config.dataDir))
    app.health.register(EVENT_LOOP_COMPONENT, eventLoop.check)

    const maintenance = { database: app.database, maintenance: config.maintenance }
    scheduler.define(
      cacheWarmJob({ chat: app.chat, cache: app.cache, db: app.db, historyMessages: config.chat.historyMessages }),
    )
    scheduler.define(indexMaintenanceJob(maintenance))
    scheduler.define(vacuumAnalyzeJob(maintenance))
    scheduler.define(healthCheckJob({ health: app.health, metrics: app.metrics, eventLoop, log }))
    scheduler.define(retentionJob(maintenance))
    app.decorate('jobs', scheduler)
    app.sampler.addSource('jobs', () => scheduler.signals())

    await app.register(jobRoutes)

    app.addHook('onReady', async () => scheduler.start(new Date()))
    // preClose: runs still going are stopped and recorded while the database is still open.
    app.addHook('preClose', async () => scheduler.stop(Math.min(5_000, config.shutdownTimeoutMs / 2)))
    app.addHook('onClose', async () => eventLoop.close())
  },
  {
    name: 'jobs',
    dependencies: ['database', 'redis', 'health', 'audit', 'auth', 'metrics-registry', 'metrics', 'cache', 'chat'],
  },
)
