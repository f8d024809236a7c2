import { Type, type Static } from '@sinclair/typebox'

/** The cache's namespaces: each has its own TTL and statistics. */
export const CACHE_NAMESPACES = ['ai_response', 'models', 'conversation', 'session', 'search'] as const
export type CacheNamespace = (typeof CACHE_NAMESPACES)[number]

export const Count = Type.Integer({ minimum: 0 })
const NullableCount = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])
const NamespaceStats = Type.Object({
  ttl_seconds: Count,
  hits: Count,
  misses: Count,
  hit_rate: Type.Union([Type.Number(), Type.Null()], {
    description: 'hits / (hits + misses) on this instance; null without traffic',
  }),
  l1_hits: Count,
  l2_hits: Count,
  coalesced: Type.Integer({
    minimum: 0,
    description: 'Requests that shared an identical computation already under way',
  }),
})
export const CacheStatsView = Type.Object({
  layers: Type.Object({ l1: Type.Boolean(), l2: Type.Boolean() }),
  namespaces: Type.Object(Object.fromEntries(CACHE_NAMESPACES.map((n) => [n, NamespaceStats]))),
  l1: Type.Object({ entries: Count, bytes: Count, max_entries: Count, max_bytes: Count }),
  l2: Type.Union([
    Type.Object({
      connected: Type.Boolean(),
      errors: Type.Integer({
        minimum: 0,
        description: 'Redis commands that failed or timed out since start (the cache fell back to L1)',
      }),
      keyspace_hits: Type.Optional(NullableCount),
      keyspace_misses: Type.Optional(NullableCount),
      used_memory_human: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      connected_clients: Type.Optional(NullableCount),
      keys: Type.Union([Count, Type.Null()], {
        description: 'Keys under our prefix (SCAN), whatever feature wrote them',
      }),
      cache_keys: Type.Union([Count, Type.Null()], { description: 'Of those, cache entries' }),
    }),
    Type.Null(),
  ]),
})

/** `GET /api/cache/stats`. */
export type CacheStats = Static<typeof CacheStatsView>
