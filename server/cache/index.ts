import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { followClears } from './invalidation.js'
import { cacheRoutes } from './routes.js'
import { TieredCache } from './tiered-cache.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The tiered response cache (L1 in process, L2 Redis when configured). */
    cache: TieredCache
  }
}

/** The tiered cache, shared by every feature, and its admin routes (stats, clear). */
export default fp(
  async function cachePlugin(app: FastifyInstance) {
    const { config } = app
    const cache = new TieredCache({
      redis: app.redis,
      prefix: config.cachePrefix,
      ttlSeconds: config.cache.ttlSeconds,
      l1MaxEntries: config.cache.l1MaxEntries,
      l1MaxBytes: config.cache.l1MaxBytes,
      metrics: app.metrics,
      log: app.log.child({ component: 'cache' }),
    })
    app.decorate('cache', cache)
    if (app.redis) {
      const stop = followClears(app.redis, cache, app.log)
      app.addHook('onClose', async () => stop())
    }
    await app.register(cacheRoutes)
  },
  { name: 'cache', dependencies: ['redis', 'metrics-registry', 'audit', 'auth'] },
)
