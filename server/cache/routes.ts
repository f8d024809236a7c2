import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../errors.js'
import { ErrorResponse } from '../http/schemas.js'
import { CACHE_NAMESPACES, NAMESPACE_PATTERN } from './keys.js'

const Count = Type.Integer({ minimum: 0 })
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
const CacheStatsView = Type.Object({
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

export const cacheRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/cache/stats',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['cache'],
        summary: 'Cache layers, per-namespace hit rates (this instance), L1 size and Redis figures',
        response: { 200: CacheStatsView },
      },
    },
    async () => app.cache.stats(),
  )

  app.post(
    '/api/cache/clear',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['cache'],
        summary:
          'Delete cached entries (one namespace, or all): L1 on every instance, and our keys in Redis (SCAN + UNLINK)',
        // No body at all means every namespace.
        body: Type.Union([
          Type.Object(
            {
              namespace: Type.Optional(
                Type.String({
                  pattern: NAMESPACE_PATTERN,
                  description: `${CACHE_NAMESPACES.join(', ')}, or a sub-namespace such as ai_response:team-a`,
                }),
              ),
            },
            { additionalProperties: false },
          ),
          Type.Null(),
        ]),
        response: {
          200: Type.Object({
            namespace: Type.Union([Type.String(), Type.Null()]),
            deleted: Type.Object({ l1: Count, l2: Count }),
          }),
          400: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request) => {
      const namespace = request.body?.namespace
      try {
        const deleted = await app.cache.clear({ namespace })
        await app.audit.record(request, {
          action: 'cache.clear',
          target: namespace ?? 'all',
          params: { namespace: namespace ?? null },
          detail: { deleted },
        })
        return { namespace: namespace ?? null, deleted }
      } catch (err) {
        const message = `L1 was cleared, but Redis keys were not deleted: ${err instanceof Error ? err.message : String(err)}`
        await app.audit.record(request, {
          action: 'cache.clear',
          target: namespace ?? 'all',
          params: { namespace: namespace ?? null },
          result: 'error',
          detail: { message },
        })
        throw new AppError(503, 'cache_unavailable', message, { 'retry-after': '5' })
      }
    },
  )
}
