import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorResponse } from '../contract/common.js'
import { ProjectParams, ProjectSettingsBody, ProjectView } from '../contract/projects.js'
import { badRequest, notFound } from '../errors.js'
import { budgetPeriod } from './budgets.js'
import type { ProjectRepository } from './project-repository.js'
import type { UsageRepository } from './repository.js'
import type { UsageService } from './service.js'

const tags = ['usage']
const EMPTY = { requests: 0, cached: 0, prompt_tokens: 0, completion_tokens: 0, cost: null }

/**
 * GET /api/projects (viewers), PUT /api/projects/:name and DELETE /api/projects/:name/limits
 * (admins, audited): a project's own limits and budget, applied on every instance at once
 * (the tokens' cached verifications carry them, and are forgotten everywhere on a change).
 */
export function projectRoutes(
  projects: ProjectRepository,
  usage: UsageService,
  repository: UsageRepository,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/projects',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: 'Projects: their limits, budget, active tokens and usage this period',
          response: { 200: Type.Object({ projects: Type.Array(ProjectView) }) },
        },
      },
      async () => {
        const rows = await projects.list()
        await usage.flush()
        const now = new Date()
        const out = []
        for (const period of ['day', 'month'] as const) {
          const inPeriod = rows.filter((r) => (r.budget?.period ?? 'month') === period)
          if (inPeriod.length === 0) continue
          const { start } = budgetPeriod(period, now)
          const totals = await repository.perScope(
            inPeriod.map((r) => `project:${r.name}`),
            start,
          )
          for (const r of inPeriod)
            out.push({
              ...r,
              updated_at: r.updated_at?.toISOString() ?? null,
              usage: { ...(totals.get(`project:${r.name}`) ?? EMPTY), period, period_start: start.toISOString() },
            })
        }
        return { projects: out.sort((a, b) => a.name.localeCompare(b.name)) }
      },
    )

    app.put(
      '/api/projects/:name',
      {
        config: { access: 'admin' },
        schema: {
          tags,
          summary: "Set a project's limits and/or budget (shared by all its tokens, on top of theirs)",
          params: ProjectParams,
          body: ProjectSettingsBody,
          response: { 204: Type.Null(), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { name } = request.params
        const { budget } = request.body
        if (budget && budget.tokens === undefined && budget.cost === undefined)
          throw badRequest('budget needs tokens, cost or both', 'invalid_budget')
        if (!(await projects.exists(name))) throw notFound(`Project ${name} (no active token names it)`)
        await projects.put(name, request.body, request.principal!.name)
        await app.authenticator.changed()
        await app.audit.record(request, { action: 'project.update', target: name, params: { ...request.body } })
        return reply.code(204).send(null)
      },
    )

    app.delete(
      '/api/projects/:name/limits',
      {
        config: { access: 'admin' },
        schema: {
          tags,
          summary: "Remove a project's limits and budget (its tokens keep their own)",
          params: ProjectParams,
          response: { 204: Type.Null(), 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { name } = request.params
        if (!(await projects.clear(name))) throw notFound(`Limits or budget of project ${name}`)
        await app.authenticator.changed()
        await app.audit.record(request, { action: 'project.clear', target: name, params: {} })
        return reply.code(204).send(null)
      },
    )
  }
}
