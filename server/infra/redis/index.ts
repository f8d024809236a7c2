import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { closeRedis, connectRedis } from './client.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The shared Redis client, or null when REDIS_URL is unset (single instance, in-process fallbacks). */
    redis: Redis | null
  }
}

export default fp(
  async function redisPlugin(app: FastifyInstance) {
    const redis = await connectRedis(app.config, app.log)
    app.decorate('redis', redis)
    if (redis) app.addHook('onClose', async () => closeRedis(redis))
  },
  { name: 'redis' },
)
