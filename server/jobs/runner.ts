import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { AppEvents } from '../events.js'
import type { Metrics } from '../metrics/definitions.js'
import { messageOf, runAttempt, sleep, type AttemptOutcome } from './attempt.js'
import type { Lease, LockStore } from '../infra/locks/lease.js'
import type { JobRepository, NewRun } from './repository.js'
import type { JobDefinition, JobEvent, JobReport, JobRunStatus, JobTrigger } from './types.js'

export interface RunnerDeps {
  repo: JobRepository
  locks: LockStore
  metrics: Metrics
  events: AppEvents
  log: FastifyBaseLogger
  instanceId: string
  /** Told about every run that ran (not skips): the scheduler derives job_failing from it. */
  onOutcome?: (job: string, status: JobRunStatus) => void
}

export interface RunRequest {
  trigger: JobTrigger
  params?: Record<string, unknown>
  /** Set for scheduled and catch-up runs: instances compete for it, one wins. */
  occurrenceKey?: string | null
  now?: Date
}

export interface StartedRun {
  runId: string
  status: 'running' | 'skipped'
  /** Settles once the run has finished and been recorded. */
  done: Promise<void>
}

export const DEFAULT_ATTEMPTS = 3
export const DEFAULT_BACKOFF_MS = 5_000

/**
 * Wraps every run, scheduled or manual: the job_runs row, no overlap (on this instance and,
 * through the lock store, across instances), timeout, retries with backoff, metrics and
 * 'job' events.
 */
export class JobRunner {
  private readonly active = new Map<string, { runId: string; done: Promise<void> }>()
  private readonly stopping = new AbortController()

  constructor(private readonly deps: RunnerDeps) {}

  isRunning(job: string): boolean {
    return this.active.has(job)
  }

  /** Starts a run; resolves once it is recorded (running or skipped), or null when another instance claimed the occurrence. */
  async start(job: JobDefinition, request: RunRequest): Promise<StartedRun | null> {
    const { repo, instanceId } = this.deps
    const run: Omit<NewRun, 'status'> = {
      id: randomUUID(),
      job: job.name,
      trigger: request.trigger,
      instance: instanceId,
      occurrenceKey: request.occurrenceKey ?? null,
      params: request.params ?? {},
      startedAt: request.now ?? new Date(),
    }
    if (this.stopping.signal.aborted) return this.skipNew(run, 'the service is shutting down')
    const current = this.active.get(job.name)
    if (current)
      return this.skipNew(run, `a run of ${job.name} is already in progress on this instance (run ${current.runId})`)

    let finish!: () => void
    this.active.set(job.name, { runId: run.id, done: new Promise<void>((r) => (finish = r)) })
    const release = () => {
      this.active.delete(job.name)
      finish()
    }
    let recorded = true
    try {
      if (!(await repo.claim({ ...run, status: 'running' }))) {
        release()
        return null
      }
    } catch (err) {
      // An instance job (the health check) must run even when the database is down.
      if ((job.scope ?? 'cluster') !== 'instance') {
        release()
        throw err
      }
      recorded = false
      this.deps.log.warn({ err, job: job.name }, 'could not record the job run; running it anyway')
    }

    let lease: Lease | null = null
    if ((job.scope ?? 'cluster') === 'cluster') {
      let reason: string | null = null
      try {
        lease = await this.deps.locks.tryAcquire(job.name)
        if (!lease) reason = `a run of ${job.name} is already in progress on another instance`
      } catch (err) {
        reason = `could not take the job lock: ${messageOf(err)}`
      }
      if (reason) {
        release()
        await repo.skip(run.id, reason, run.startedAt)
        this.recordSkipOutcome({ ...run, status: 'skipped' }, reason)
        return { runId: run.id, status: 'skipped', done: Promise.resolve() }
      }
    }

    this.emit({ ...eventBase(run), type: 'started', status: 'running', attempt: 1 })
    const done = this.execute(job, run, lease, recorded)
      .catch((err: unknown) => this.deps.log.error({ err, job: job.name, runId: run.id }, 'job run failed to record'))
      .finally(release)
    return { runId: run.id, status: 'running', done }
  }

  /** Aborts every run on this instance and waits for them (bounded) to record their end. */
  async stop(graceMs: number): Promise<void> {
    this.stopping.abort(new Error('stopped: the service is shutting down'))
    const pending = [...this.active.values()].map((a) => a.done)
    await sleep(graceMs, abortWhenSettled(pending))
  }

  private async execute(
    job: JobDefinition,
    run: Omit<NewRun, 'status'>,
    lease: Lease | null,
    recorded: boolean,
  ): Promise<void> {
    const { repo, log } = this.deps
    const attempts = Math.max(1, job.attempts ?? DEFAULT_ATTEMPTS)
    const backoffMs = job.backoffMs ?? DEFAULT_BACKOFF_MS
    const stop = AbortSignal.any([this.stopping.signal, ...(lease ? [lease.lost] : [])])
    const startedMs = performance.now()
    let lastProgress: JobReport | null = null
    let outcome: AttemptOutcome = { status: 'failed', report: null, error: 'not run', retryable: true }
    let attempt = 1
    try {
      for (; attempt <= attempts; attempt++) {
        if (attempt > 1) {
          if (recorded)
            await repo
              .setAttempt(run.id, attempt)
              .catch((err: unknown) => log.warn({ err }, 'could not record the attempt'))
          if (!(await sleep(backoffMs * 2 ** (attempt - 2), stop))) break
        }
        const ctx = {
          runId: run.id,
          job: job.name,
          trigger: run.trigger,
          attempt,
          params: run.params,
          now: attempt === 1 ? run.startedAt : new Date(),
          log: log.child({ job: job.name, runId: run.id, attempt }),
          progress: (report: JobReport) => {
            lastProgress = report
            this.emit({ ...eventBase(run), type: 'progress', status: 'running', attempt, report })
          },
        }
        outcome = await runAttempt(job, ctx, stop, () => lastProgress)
        if (outcome.status === 'success' || stop.aborted || !outcome.retryable) break
        if (attempt < attempts)
          log.warn({ job: job.name, runId: run.id, attempt, error: outcome.error }, 'job attempt failed; retrying')
      }
    } finally {
      await lease?.release()
    }
    // Stopped (shutdown, lost lock) mid-run or mid-backoff: say so rather than "timed out".
    if (stop.aborted && outcome.status !== 'success')
      outcome = { status: 'failed', report: outcome.report, error: messageOf(stop.reason), retryable: false }
    const durationMs = performance.now() - startedMs
    const finalAttempt = Math.min(attempt, attempts)
    if (recorded) {
      await repo.finish(run.id, {
        status: outcome.status,
        attempt: finalAttempt,
        finishedAt: new Date(),
        durationMs,
        error: outcome.error,
        output: outcome.report,
      })
    }
    this.recordOutcome(job.name, outcome.status, durationMs)
    if (outcome.status !== 'success')
      log.warn({ job: job.name, runId: run.id, status: outcome.status, error: outcome.error }, 'job run failed')
    this.emit({
      ...eventBase(run),
      type: 'finished',
      status: outcome.status,
      attempt: finalAttempt,
      durationMs: Math.round(durationMs),
      error: outcome.error,
      report: outcome.report,
    })
  }

  private async skipNew(run: Omit<NewRun, 'status'>, reason: string): Promise<StartedRun | null> {
    const claimed = await this.deps.repo.claim({ ...run, status: 'skipped', error: reason })
    if (!claimed) return null
    this.recordSkipOutcome({ ...run, status: 'skipped' }, reason)
    return { runId: run.id, status: 'skipped', done: Promise.resolve() }
  }

  private recordSkipOutcome(run: NewRun, reason: string): void {
    this.deps.metrics.jobRunsTotal.inc({ job: run.job, status: 'skipped' })
    this.deps.log.info({ job: run.job, runId: run.id, reason }, 'job run skipped')
    this.emit({
      ...eventBase(run),
      type: 'finished',
      status: 'skipped',
      attempt: 1,
      durationMs: 0,
      error: reason,
      report: null,
    })
  }

  private recordOutcome(job: string, status: Exclude<JobRunStatus, 'running' | 'skipped'>, durationMs: number): void {
    const { metrics } = this.deps
    metrics.jobRunsTotal.inc({ job, status })
    metrics.jobDuration.observe({ job, status }, durationMs / 1000)
    if (status === 'success') metrics.jobLastSuccess.set({ job }, Date.now() / 1000)
    this.deps.onOutcome?.(job, status)
  }

  private emit(event: Omit<JobEvent, 'at'>): void {
    this.deps.events.emit('job', { ...event, at: Date.now() })
  }
}

function eventBase(run: Omit<NewRun, 'status'>) {
  return { runId: run.id, job: run.job, trigger: run.trigger, instance: run.instance }
}

function abortWhenSettled(pending: Promise<void>[]): AbortSignal {
  const controller = new AbortController()
  void Promise.allSettled(pending).then(() => controller.abort())
  return controller.signal
}
