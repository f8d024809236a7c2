import type { Redis } from 'ioredis'

/** Keys per SCAN step and per UNLINK: large enough to be quick, small enough not to stall Redis. */
const BATCH = 500

/**
 * Walks `pattern` with SCAN (never KEYS) and UNLINKs each batch of matches that `keep`
 * accepts. Returns how many keys went.
 */
export async function deleteKeys(redis: Redis, pattern: string, keep?: (key: string) => boolean): Promise<number> {
  let deleted = 0
  await scanEach(redis, pattern, async (keys) => {
    const batch = keep ? keys.filter(keep) : keys
    if (batch.length) deleted += await redis.unlink(...batch)
  })
  return deleted
}

/** Counts keys matching `pattern` with SCAN, and how many of those `matching` accepts. */
export async function countKeys(
  redis: Redis,
  pattern: string,
  matching: (key: string) => boolean,
): Promise<{ total: number; matching: number }> {
  const counts = { total: 0, matching: 0 }
  await scanEach(redis, pattern, async (keys) => {
    counts.total += keys.length
    counts.matching += keys.filter(matching).length
  })
  return counts
}

async function scanEach(redis: Redis, pattern: string, onBatch: (keys: string[]) => Promise<void>): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', BATCH)
    cursor = next
    if (keys.length) await onBatch(keys)
  } while (cursor !== '0')
}

export interface RedisInfo {
  keyspace_hits: number | null
  keyspace_misses: number | null
  used_memory_human: string | null
  connected_clients: number | null
}

/** The server-wide figures an admin looks at, from INFO. */
export async function readRedisInfo(redis: Redis): Promise<RedisInfo> {
  const fields = parseInfo(await redis.info())
  const num = (name: string) => (fields[name] === undefined ? null : Number(fields[name]))
  return {
    keyspace_hits: num('keyspace_hits'),
    keyspace_misses: num('keyspace_misses'),
    used_memory_human: fields.used_memory_human ?? null,
    connected_clients: num('connected_clients'),
  }
}

export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue
    const colon = line.indexOf(':')
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1)
  }
  return fields
}
