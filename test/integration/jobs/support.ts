import type { FastifyInstance } from 'fastify'
import type { JobRun } from '../../../server/jobs/types.js'

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The run once it has finished (any status but running). */
export async function finishedRun(
  app: FastifyInstance,
  job: string,
  runId: string,
  timeoutMs = 30_000,
): Promise<JobRun> {
  return eventually(
    async () => {
      const run = await app.jobs.repo.get(job, runId)
      return run && run.status !== 'running' ? run : undefined
    },
    `run ${runId} of ${job} to finish`,
    timeoutMs,
  )
}

/** Starts a manual run through the API and waits for it to finish. */
export async function runThroughApi(
  app: FastifyInstance,
  auth: Record<string, string>,
  job: string,
  timeoutMs?: number,
): Promise<JobRun> {
  const res = await app.inject({ method: 'POST', url: `/api/jobs/${job}/run`, headers: auth })
  if (res.statusCode !== 202) throw new Error(`POST /api/jobs/${job}/run answered ${res.statusCode}: ${res.body}`)
  return finishedRun(app, job, res.json().runId, timeoutMs)
}
