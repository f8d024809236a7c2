import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { TieredCache } from './tiered-cache.js'

/** A pub/sub channel, not a key: it takes no room in the keyspace and no clear ever deletes it. */
export const clearChannel = (prefix: string) => `${prefix}cache:clear`

export interface ClearMessage {
  from: string
  namespace: string | null
}

/**
 * Every instance's L1 follows a clear made on any of them: the clearing instance publishes,
 * the others drop the same namespace locally. A subscriber needs a connection of its own.
 * Returns the function that stops listening.
 */
export function followClears(redis: Redis, cache: TieredCache, log: FastifyBaseLogger): () => void {
  const channel = clearChannel(cache.prefix)
  const subscriber = redis.duplicate({ lazyConnect: true, enableOfflineQueue: true, connectionName: undefined })
  // The main client reports outages; this one only has to come back, which ioredis does.
  subscriber.on('error', () => {})
  // Subscribing again on every (re)connect covers a Redis that was down when we started.
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).catch((err) => log.warn({ err }, 'could not subscribe to cache clears'))
  })
  subscriber.on('message', (_channel, raw) => {
    let message: ClearMessage
    try {
      message = JSON.parse(raw) as ClearMessage
    } catch {
      return
    }
    if (message.from === cache.id) return
    const removed = cache.clearLocal(message.namespace ?? undefined)
    log.info({ namespace: message.namespace, removed }, 'cache cleared by another instance; dropped L1 entries')
  })
  subscriber.connect().catch(() => {})
  return () => subscriber.disconnect()
}
