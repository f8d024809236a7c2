import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { badRequest } from '../errors.js'
import { ErrorResponse } from '../contract/common.js'
import { StartedRunView } from '../contract/jobs.js'
import { cancelBackend, classifyActivity, hideOtherRolesQueries, listActivity } from './activity.js'
import { evaluateOverview, measureOverview, type CheckStatus } from './overview.js'
import { topQueries } from './queries.js'
import { ActivityView, IndexView, OverviewView, QueriesView, TableView } from '../contract/database.js'
import { indexesView, tablesView } from './views.js'

const tags = ['database']
const viewer = { access: 'viewer' as const }

/** pgHero-like read APIs on our schema, and the two admin actions (optimize, cancel a query). */
export const insightsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, database, config } = app
  const { longQuerySeconds } = config.maintenance

  app.get(
    '/api/db/overview',
    {
      config: viewer,
      schema: {
        tags,
        summary:
          'Size, connections, cache hit rate, wraparound, long-running and idle-in-transaction sessions, each judged ok/warn/critical',
        response: { 200: OverviewView },
      },
    },
    async () => {
      const measured = await measureOverview(db, database.schema, longQuerySeconds)
      const checks = evaluateOverview(measured, longQuerySeconds)
      const status: CheckStatus = checks.some((c) => c.status === 'critical')
        ? 'critical'
        : checks.some((c) => c.status === 'warn')
          ? 'warn'
          : 'ok'
      return { database: { kind: database.kind, schema: database.schema, ...measured }, status, checks }
    },
  )

  app.get(
    '/api/db/tables',
    {
      config: viewer,
      schema: {
        tags,
        summary: 'Our tables: size, rows, dead tuples, last (auto)vacuum and (auto)analyze, scans',
        response: { 200: Type.Object({ tables: Type.Array(TableView) }) },
      },
    },
    async () => ({ tables: await tablesView(db, database.schema) }),
  )

  app.get(
    '/api/db/indexes',
    {
      config: viewer,
      schema: {
        tags,
        summary: 'Our indexes: size, scans, and whether unused, invalid, duplicate or bloated',
        response: { 200: Type.Object({ indexes: Type.Array(IndexView) }) },
      },
    },
    async () => ({ indexes: await indexesView(db, database.schema, config.maintenance.indexes) }),
  )

  app.get(
    '/api/db/queries',
    {
      config: viewer,
      schema: {
        tags,
        summary: 'Top statements by total time (pg_stat_statements); says how to enable it when it is missing',
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }) },
          { additionalProperties: false },
        ),
        response: { 200: QueriesView },
      },
    },
    async (request) => topQueries(db, request.query.limit),
  )

  app.get(
    '/api/db/activity',
    {
      config: viewer,
      schema: {
        tags,
        summary: 'Sessions on our database: running, long-running, blocked, idle in transaction',
        description:
          "Viewers do not see the statements of other database roles' sessions (query null, queryHidden other_role); admins do.",
        response: { 200: ActivityView },
      },
    },
    async (request) => {
      const backends = await listActivity(db)
      const visible = request.principal?.role === 'admin' ? backends : hideOtherRolesQueries(backends)
      return { longQuerySeconds, ...classifyActivity(visible, longQuerySeconds) }
    },
  )

  app.post(
    '/api/db/optimize',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Start a vacuum-analyze run that also rebuilds invalid indexes; answers at once with the run id',
        response: { 202: StartedRunView },
      },
    },
    async (request, reply) => {
      const started = (await app.jobs.run('vacuum-analyze', {
        trigger: 'manual',
        params: { repairInvalidIndexes: true },
      }))!
      await app.audit.record(request, {
        action: 'db.optimize',
        target: 'vacuum-analyze',
        detail: { runId: started.runId, status: started.status },
      })
      return reply.code(202).send({ runId: started.runId, job: 'vacuum-analyze', status: started.status })
    },
  )

  app.post(
    '/api/db/activity/:pid/cancel',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Cancel the query a session of ours is running (pg_cancel_backend; the session stays)',
        // A digits-only string: ajv would coerce "1e309" to Infinity and let it pass as an integer.
        params: Type.Object({ pid: Type.String({ pattern: '^[1-9][0-9]{0,9}$', description: 'Backend process id' }) }),
        response: {
          200: Type.Object({ pid: Type.Integer(), cancelled: Type.Boolean() }),
          403: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
        },
      },
    },
    async (request) => {
      const pid = Number(request.params.pid)
      if (pid > 2_147_483_647) throw badRequest('params/pid must be at most 2147483647')
      const result = await cancelBackend(db, pid)
      await app.audit.record(request, {
        action: 'db.cancel',
        target: String(result.pid),
        detail: { cancelled: result.cancelled, query: result.query },
      })
      return { pid: result.pid, cancelled: result.cancelled }
    },
  )
}
