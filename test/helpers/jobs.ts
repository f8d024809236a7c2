import type { FastifyInstance } from 'fastify'
import type { JobRun } from '../../server/jobs/types.js'
import type { TestApp } from './app.js'
import { waitFor } from './wait.js'

/** The run once it has finished (any status but running). */
export async function finishedRun(
  app: FastifyInstance,
  job: string,
  runId: string,
  timeoutMs = 30_000,
): Promise<JobRun> {
  return waitFor(
    `run ${runId} of ${job} to finish`,
    async () => {
      const run = await app.jobs.repo.get(job, runId)
      return run && run.status !== 'running' && run
    },
    timeoutMs,
  )
}

/** Starts a manual run through the API and waits for it to finish. */
export async function runThroughApi(t: TestApp, job: string, timeoutMs?: number): Promise<JobRun> {
  const res = await t.request('POST', `/api/jobs/${job}/run`)
  if (res.statusCode !== 202) throw new Error(`POST /api/jobs/${job}/run answered ${res.statusCode}: ${res.body}`)
  return finishedRun(t.app, job, res.json().runId, timeoutMs)
}
