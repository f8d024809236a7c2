import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { indexMaintenanceJob } from './maintenance/index-maintenance.js'
import { retentionJob } from './maintenance/retention.js'
import { vacuumAnalyzeJob } from './maintenance/vacuum-analyze.js'
import { insightsRoutes } from './routes.js'

/**
 * Postgres insights (read-only, viewer), the database admin actions, and the maintenance jobs
 * that act on what the insights read (index maintenance and repair, vacuum/analyze, retention).
 */
export default fp(
  async function insightsPlugin(app: FastifyInstance) {
    const maintenance = { database: app.database, maintenance: app.config.maintenance }
    app.jobs.define(indexMaintenanceJob(maintenance))
    app.jobs.define(vacuumAnalyzeJob(maintenance))
    app.jobs.define(retentionJob(maintenance))
    await app.register(insightsRoutes)
  },
  { name: 'insights', dependencies: ['database', 'auth', 'audit', 'jobs'] },
)
