import fp from 'fastify-plugin'
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

/**
 * The OpenAPI document, generated from the route schemas. Registered before any route so
 * that it sees them all; the document and its UI need a viewer (or better) credential.
 */
export const openApiDocument = fp(
  async function openApiDocumentPlugin(app: FastifyInstance) {
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'chat-control-plane',
          description: 'An AI chat API and the control plane that supervises it.',
          version: process.env.npm_package_version ?? '0.1.0',
        },
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer', description: 'An API token (ccp_…)' },
            session: { type: 'apiKey', in: 'cookie', name: 'ccp_session' },
          },
        },
        security: [{ bearer: [] }, { session: [] }],
      },
    })
  },
  { name: 'openapi-document' },
)

export async function openApiRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), access: 'viewer' }
  })
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs', staticCSP: true })
}
