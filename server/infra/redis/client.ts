import { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'

/**
 * One ioredis client per app. Commands fail fast (short timeout, no offline queue) so that
 * callers can fall back to in-process state instead of waiting; the client keeps
 * reconnecting in the background on its own.
 */
export async function connectRedis(config: Config, log: FastifyBaseLogger): Promise<Redis | null> {
  if (!config.redis.url) return null
  const redis = new Redis(config.redis.url, {
    lazyConnect: true,
    enableAutoPipelining: true,
    commandTimeout: config.redis.commandTimeoutMs,
    connectTimeout: Math.max(1000, config.redis.commandTimeoutMs * 4),
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectionName: `chat-control-plane:${config.instanceId}`.replace(/\s/g, '_'),
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2_000),
  })
  let lastState = ''
  const report = (state: string, err?: unknown) => {
    if (state === lastState) return
    lastState = state
    if (state === 'ready') log.info('redis ready')
    else log.warn({ err }, `redis ${state}`)
  }
  redis.on('ready', () => report('ready'))
  redis.on('error', (err) => report('error', err))
  redis.on('end', () => report('connection closed'))
  try {
    await redis.connect()
  } catch (err) {
    // Start anyway: readiness reports Redis down, the cache runs on L1, and ioredis retries.
    log.warn({ err }, 'redis unreachable at start; continuing on the in-process cache and retrying')
  }
  return redis
}

/** Quits politely, or disconnects when the server is gone. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    await redis.quit().catch(() => redis.disconnect())
  } else {
    redis.disconnect()
  }
}
