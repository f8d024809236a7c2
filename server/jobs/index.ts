import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createLockStore } from '../infra/locks/lease.js'
import { JobRepository } from './repository.js'
import { jobRoutes } from './routes.js'
import { JobScheduler } from './scheduler.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The job scheduler: features declare their jobs with `app.jobs.define(...)`; run now, pause, resume, reschedule. */
    jobs: JobScheduler
  }
}

/**
 * The job engine and its API. It knows no job: each feature declares its own while it
 * registers (health → health-check, chat → cache-warm, insights → the database maintenance
 * jobs). Scheduling starts once the app is ready; on close, runs in flight are stopped and
 * recorded before the database goes away.
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
    app.decorate('jobs', scheduler)
    app.sampler.addSource('jobs', () => scheduler.signals())

    await app.register(jobRoutes)

    app.addHook('onReady', async () => scheduler.start(new Date()))
    // preClose: runs still going are stopped and recorded while the database is still open.
    app.addHook('preClose', async () => scheduler.stop(Math.min(5_000, config.shutdownTimeoutMs / 2)))
  },
  { name: 'jobs', dependencies: ['database', 'redis', 'audit', 'auth', 'metrics-registry', 'metrics'] },
)
