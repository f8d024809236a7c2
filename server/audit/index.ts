import fp from 'fastify-plugin'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { AuditLog } from './audit-repository.js'
import { AuditPage } from '../contract/audit.js'

declare module 'fastify' {
  interface FastifyInstance {
    audit: AuditLog
  }
}

/** The audit log: written by every admin action, readable by viewers. */
export default fp(
  async function auditPlugin(app: FastifyInstance) {
    app.decorate('audit', new AuditLog(app.db, app.events))

    app.withTypeProvider<TypeBoxTypeProvider>().get(
      '/api/audit',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['admin'],
          summary: 'Audit log, newest first (keyset pagination: pass the last id as `before`)',
          querystring: Type.Object(
            {
              limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
              before: Type.Optional(Type.String({ pattern: '^[0-9]{1,19}$' })),
              action: Type.Optional(Type.String({ maxLength: 100 })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: AuditPage,
          },
        },
      },
      async (request) => {
        const entries = await app.audit.list(request.query)
        return { entries, nextBefore: entries.length === request.query.limit ? entries.at(-1)!.id : null }
      },
    )
  },
  { name: 'audit', dependencies: ['database'] },
)
