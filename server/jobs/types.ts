import type { FastifyBaseLogger } from 'fastify'

/** What started a run: its schedule, an admin (API), or the start-up catch-up of a missed run. */
export type JobTrigger = 'schedule' | 'manual' | 'catch-up'
export type JobRunStatus = 'running' | 'success' | 'failed' | 'timeout' | 'skipped'
/** What a job returns and shows: counts, per-item results. Stored as JSON in job_runs.output. */
export type JobReport = Record<string, unknown>

/**
 * - none: a missed occurrence is simply skipped (frequent jobs: the next one comes soon).
 * - once: at start, a job whose last success is older than one period runs once.
 */
export type CatchUpPolicy = 'none' | 'once'

/**
 * - cluster: one run per occurrence across every instance sharing the database.
 * - instance: each instance runs it (it measures or warms something local to the instance).
 */
export type JobScope = 'cluster' | 'instance'

export interface JobContext {
  runId: string
  job: string
  trigger: JobTrigger
  attempt: number
  /** Options given by whoever started the run (an admin action may ask for more work). */
  params: Record<string, unknown>
  /** When the run started: jobs decide on time against this, never against the clock. */
  now: Date
  log: FastifyBaseLogger
  /** Publishes an intermediate report to the live dashboard (not stored until the end). */
  progress(report: JobReport): void
}

/** A job, declared as data; the runner supplies locking, timeout, retries and history. */
export interface JobDefinition {
  name: string
  description: string
  /** Cron expression; a leading sixth field means seconds. */
  schedule: string
  timeoutMs: number
  /** Attempts in all, the first included (default 3). */
  attempts?: number
  /** Wait before the second attempt, doubled for each one after (default 5 s). */
  backoffMs?: number
  catchUp?: CatchUpPolicy
  scope?: JobScope
  run(ctx: JobContext, signal: AbortSignal): Promise<JobReport>
}

/** One job_runs row, as the API shows it. */
export interface JobRun {
  id: string
  job: string
  trigger: JobTrigger
  instance: string
  params: Record<string, unknown>
  status: JobRunStatus
  attempt: number
  started_at: Date
  finished_at: Date | null
  duration_ms: number | null
  error: string | null
  output: JobReport | null
}

/** Emitted on `app.events` as 'job' for every run: the live dashboard follows runs with it. */
export interface JobEvent {
  type: 'started' | 'progress' | 'finished'
  runId: string
  job: string
  trigger: JobTrigger
  instance: string
  status: JobRunStatus
  attempt: number
  /** Epoch milliseconds. */
  at: number
  durationMs?: number
  error?: string | null
  report?: JobReport | null
}
