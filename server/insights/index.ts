import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { insightsRoutes } from './routes.js'

/** Postgres insights (read-only, viewer) and the database admin actions. */
export default fp(
  async function insightsPlugin(app: FastifyInstance) {
    await app.register(insightsRoutes)
  },
  { name: 'insights', dependencies: ['database', 'auth', 'audit', 'jobs'] },
)
