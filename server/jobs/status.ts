import type { JobRepository } from './repository.js'
import type { JobEntry, JobScheduler, ScheduleSource } from './scheduler.js'
import { describeSchedule } from './schedule.js'
import { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS } from './runner.js'
import type { CatchUpPolicy, JobRun, JobScope } from './types.js'

/** A job as `GET /api/jobs` shows it. */
export interface JobStatus {
  name: string
  description: string
  schedule: string
  scheduleSource: ScheduleSource
  scheduleDescription: string
  defaultSchedule: string
  scope: JobScope
  catchUp: CatchUpPolicy
  timeoutMs: number
  attempts: number
  backoffMs: number
  paused: boolean
  /** A run is going, on this instance or (per the history) another. */
  running: boolean
  /** The last run that ran (not a skip) failed. */
  failing: boolean
  nextRunAt: Date | null
  lastRun: JobRun | null
  lastSuccessAt: Date | null
}

export async function jobStatuses(
  scheduler: JobScheduler,
  repo: JobRepository,
  now: Date,
  only?: string,
): Promise<JobStatus[]> {
  const entries = only ? [scheduler.entry(only)] : scheduler.all()
  const [{ lastRuns, lastSuccess }, runningSince] = await Promise.all([
    repo.latest(entries.map((e) => e.job.name)),
    repo.runningSince(),
  ])
  return entries.map((entry) => {
    const since = runningSince.get(entry.job.name)
    const runningElsewhere = since !== undefined && now.getTime() - since.getTime() < scheduler.maxRunMs(entry.job)
    return view(scheduler, entry, {
      running: scheduler.runner.isRunning(entry.job.name) || runningElsewhere,
      lastRun: lastRuns.get(entry.job.name) ?? null,
      lastSuccessAt: lastSuccess.get(entry.job.name) ?? null,
    })
  })
}

function view(
  scheduler: JobScheduler,
  entry: JobEntry,
  facts: Pick<JobStatus, 'running' | 'lastRun' | 'lastSuccessAt'>,
): JobStatus {
  const { job } = entry
  const { expression, source } = scheduler.effectiveSchedule(entry)
  return {
    name: job.name,
    description: job.description,
    schedule: expression,
    scheduleSource: source,
    scheduleDescription: describeSchedule(expression),
    defaultSchedule: job.schedule,
    scope: job.scope ?? 'cluster',
    catchUp: job.catchUp ?? 'none',
    timeoutMs: job.timeoutMs,
    attempts: job.attempts ?? DEFAULT_ATTEMPTS,
    backoffMs: job.backoffMs ?? DEFAULT_BACKOFF_MS,
    paused: entry.paused,
    failing: scheduler.isFailing(job.name),
    nextRunAt: entry.paused ? null : (scheduler.nextRuns(entry, 1)[0] ?? null),
    ...facts,
  }
}
