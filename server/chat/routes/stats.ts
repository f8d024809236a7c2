import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

const Count = Type.Integer({ minimum: 0 })

/** Row counts of the chat tables and the database size. */
export const statsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/db/stats',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['chat'],
        summary: 'Counts of sessions, conversations, messages and analytics events; database size',
        response: {
          200: Type.Object({
            sessions: Count,
            conversations: Count,
            messages: Count,
            analytics_events: Count,
            database_bytes: Type.Integer({ minimum: 0, description: 'The whole database (pg_database_size)' }),
            database_size: Type.String({ description: 'The same, for people (pg_size_pretty)' }),
            schema_bytes: Type.Integer({ minimum: 0, description: 'Our schema’s tables, with indexes and TOAST' }),
          }),
        },
      },
    },
    async () => app.chat.repos.maintenance.stats(),
  )
}
