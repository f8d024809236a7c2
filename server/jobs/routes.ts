import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { notFound } from '../errors.js'
import { ErrorResponse } from '../contract/common.js'
import { JobNameParams, JobView, RunsQuery, RunView, ScheduleBody, StartedRunView } from '../contract/jobs.js'
import { jobStatuses } from './status.js'

const tags = ['jobs']
const actor = (request: FastifyRequest) => request.principal?.name ?? 'system'

/** Scheduled jobs: list, history, run now, pause/resume, schedule. Mutations are admin-only and audited. */
export const jobRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const scheduler = app.jobs
  const viewJob = async (name: string) => (await jobStatuses(scheduler, scheduler.repo, new Date(), name))[0]!

  app.get(
    '/api/jobs',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Every job with its schedule, next run, last run, paused and running',
        response: { 200: Type.Object({ jobs: Type.Array(JobView) }) },
      },
    },
    async () => ({ jobs: await jobStatuses(scheduler, scheduler.repo, new Date()) }),
  )

  app.get(
    '/api/jobs/:name',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'One job',
        params: JobNameParams,
        response: { 200: Type.Object({ job: JobView }), 404: ErrorResponse },
      },
    },
    async (request) => ({ job: await viewJob(request.params.name) }),
  )

  app.get(
    '/api/jobs/:name/runs',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Run history of a job, newest first (keyset pagination: pass the last id as `before`)',
        params: JobNameParams,
        querystring: RunsQuery,
        response: {
          200: Type.Object({ runs: Type.Array(RunView), nextBefore: Type.Union([Type.String(), Type.Null()]) }),
          404: ErrorResponse,
        },
      },
    },
    async (request) => {
      scheduler.entry(request.params.name)
      const runs = await scheduler.repo.list(request.params.name, request.query)
      return { runs, nextBefore: runs.length === request.query.limit ? runs.at(-1)!.id : null }
    },
  )

  app.get(
    '/api/jobs/:name/runs/:id',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'One run, with its report',
        params: Type.Object({ ...JobNameParams.properties, id: Type.String({ format: 'uuid' }) }),
        response: { 200: Type.Object({ run: RunView }), 404: ErrorResponse },
      },
    },
    async (request) => {
      scheduler.entry(request.params.name)
      const run = await scheduler.repo.get(request.params.name, request.params.id)
      if (!run) throw notFound(`Run ${request.params.id} of job ${request.params.name}`)
      return { run }
    },
  )

  app.post(
    '/api/jobs/:name/run',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Run a job now (paused or not); answers at once with the run id',
        params: JobNameParams,
        response: { 202: StartedRunView, 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { name } = request.params
      const started = (await scheduler.run(name, { trigger: 'manual' }))!
      await app.audit.record(request, {
        action: 'job.run',
        target: name,
        params: {},
        detail: { runId: started.runId, status: started.status },
      })
      return reply.code(202).send({ runId: started.runId, job: name, status: started.status })
    },
  )

  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/api/jobs/:name/${action}`,
      {
        config: { access: 'admin' },
        schema: {
          tags,
          summary:
            action === 'pause'
              ? 'Stop running a job on its schedule (on every instance, across restarts)'
              : 'Put a paused job back on its schedule',
          params: JobNameParams,
          response: { 200: Type.Object({ job: JobView }), 404: ErrorResponse },
        },
      },
      async (request) => {
        const { name } = request.params
        await (action === 'pause' ? scheduler.pause(name, actor(request)) : scheduler.resume(name, actor(request)))
        await app.audit.record(request, { action: `job.${action}`, target: name })
        return { job: await viewJob(name) }
      },
    )
  }

  app.put(
    '/api/jobs/:name/schedule',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Change a job’s schedule (persisted; null goes back to the environment or the default)',
        params: JobNameParams,
        body: ScheduleBody,
        response: { 200: Type.Object({ job: JobView }), 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const { name } = request.params
      const schedule = request.body.schedule === null ? null : request.body.schedule.trim()
      await scheduler.setSchedule(name, schedule, actor(request))
      await app.audit.record(request, { action: 'job.schedule', target: name, params: { schedule } })
      return { job: await viewJob(name) }
    },
  )
}
