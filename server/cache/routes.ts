import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../errors.js'
import { ErrorResponse } from '../contract/common.js'
import { CACHE_NAMESPACES, CacheStatsView, Count } from '../contract/cache.js'
import { NAMESPACE_PATTERN } from './keys.js'

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
