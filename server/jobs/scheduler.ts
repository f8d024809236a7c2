import cron, { type ScheduledTask } from 'node-cron'
import { badRequest, notFound } from '../errors.js'
import type { SignalSample } from '../metrics/snapshot.js'
import { missedOccurrenceKey } from './catch-up.js'
import type { JobRepository, JobSettings } from './repository.js'
import {
  DEFAULT_ATTEMPTS,
  DEFAULT_BACKOFF_MS,
  JobRunner,
  type RunnerDeps,
  type RunRequest,
  type StartedRun,
} from './runner.js'
import { occurrenceKey, scheduleProblem, schedulePeriodMs } from './schedule.js'
import type { JobDefinition } from './types.js'

export type ScheduleSource = 'default' | 'env' | 'api'

export interface SchedulerDeps extends Omit<RunnerDeps, 'onOutcome'> {
  repo: JobRepository
  /** JOB_<NAME>_SCHEDULE values, by job name. */
  envSchedules: Record<string, string | undefined>
  /** JOBS_ENABLED: run scheduled occurrences on this instance. */
  enabled: boolean
}

export interface JobEntry {
  job: JobDefinition
  paused: boolean
  /** Schedule set through the API (persisted), overriding env and default. */
  override: string | null
  task: ScheduledTask | null
}

/** Other instances' pause/resume/schedule changes reach this one within this delay. */
const SETTINGS_SYNC_MS = 30_000

/**
 * Declared jobs, their node-cron tasks, pause state and schedule overrides (persisted in
 * job_settings, so they survive restarts and apply to every instance), and catch-up at start.
 */
export class JobScheduler {
  readonly runner: JobRunner
  private readonly entries = new Map<string, JobEntry>()
  private readonly failing = new Map<string, boolean>()
  private started = false
  private syncTimer: NodeJS.Timeout | undefined

  constructor(private readonly deps: SchedulerDeps) {
    this.runner = new JobRunner({ ...deps, onOutcome: (job, status) => this.failing.set(job, status !== 'success') })
  }

  get repo(): JobRepository {
    return this.deps.repo
  }

  /** Adds a job; other features may declare theirs too. Scheduled at once if the scheduler runs. */
  define(job: JobDefinition): void {
    if (this.entries.has(job.name)) throw new Error(`job ${job.name} is declared twice`)
    const entry: JobEntry = { job, paused: false, override: null, task: null }
    for (const [source, expression] of [
      ['default', job.schedule],
      ['env', this.deps.envSchedules[job.name]],
    ] as const) {
      const problem = expression === undefined ? null : scheduleProblem(expression)
      if (problem)
        throw new Error(
          `Invalid ${source === 'env' ? `JOB_${envName(job.name)}_SCHEDULE` : `schedule of job ${job.name}`}=${JSON.stringify(expression)}: ${problem}`,
        )
    }
    this.entries.set(job.name, entry)
    if (this.started) this.schedule(entry)
  }

  entry(name: string): JobEntry {
    const entry = this.entries.get(name)
    if (!entry) throw notFound(`Job ${name}`)
    return entry
  }

  /** By name: the order does not depend on which feature declared its jobs first. */
  all(): JobEntry[] {
    return [...this.entries.values()].sort((a, b) => a.job.name.localeCompare(b.job.name))
  }

  effectiveSchedule(entry: JobEntry): { expression: string; source: ScheduleSource } {
    if (entry.override) return { expression: entry.override, source: 'api' }
    const fromEnv = this.deps.envSchedules[entry.job.name]
    return fromEnv ? { expression: fromEnv, source: 'env' } : { expression: entry.job.schedule, source: 'default' }
  }

  /** Next occurrences of the job's schedule, whether or not it runs here. */
  nextRuns(entry: JobEntry, count: number): Date[] {
    if (entry.task) return entry.task.getNextRuns(count)
    // node-cron keeps every task in a registry of its own: destroy the probe.
    const probe = this.createTask(entry)
    try {
      return probe.getNextRuns(count)
    } finally {
      void probe.destroy()
    }
  }

  /** Longest a run can take (every attempt timing out, backoffs between): older 'running' rows are dead. */
  maxRunMs(job: JobDefinition): number {
    const attempts = job.attempts ?? DEFAULT_ATTEMPTS
    return attempts * job.timeoutMs + (2 ** (attempts - 1) - 1) * (job.backoffMs ?? DEFAULT_BACKOFF_MS) + 60_000
  }

  isFailing(name: string): boolean {
    return this.failing.get(name) ?? false
  }

  /** job_failing{job}: 1 when the last run that ran (not a skip) failed. */
  signals(): SignalSample[] {
    return this.all().map(({ job }) => ({
      name: 'job_failing',
      labels: { job: job.name },
      value: this.isFailing(job.name) ? 1 : 0,
    }))
  }

  async start(now: Date): Promise<void> {
    await this.syncSettings()
    for (const entry of this.entries.values()) {
      const abandoned = await this.deps.repo.failAbandoned(
        entry.job.name,
        new Date(now.getTime() - this.maxRunMs(entry.job)),
        now,
      )
      if (abandoned)
        this.deps.log.warn(
          { job: entry.job.name, runs: abandoned },
          'marked runs abandoned by a stopped instance as failed',
        )
    }
    this.started = true
    for (const entry of this.entries.values()) this.schedule(entry)
    this.syncTimer = setInterval(
      () =>
        void this.syncSettings().catch((err: unknown) => this.deps.log.warn({ err }, 'could not sync job settings')),
      SETTINGS_SYNC_MS,
    )
    this.syncTimer.unref()
    // Waits for catch-up runs to start (claimed and recorded), not to finish.
    if (this.deps.enabled)
      await this.catchUp(now).catch((err: unknown) => this.deps.log.error({ err }, 'job catch-up failed'))
  }

  async stop(graceMs: number): Promise<void> {
    this.started = false
    clearInterval(this.syncTimer)
    for (const entry of this.entries.values()) this.unschedule(entry)
    await this.runner.stop(graceMs)
  }

  run(name: string, request: RunRequest): Promise<StartedRun | null> {
    return this.runner.start(this.entry(name).job, request)
  }

  async pause(name: string, by: string): Promise<JobEntry> {
    const entry = this.entry(name)
    await this.deps.repo.saveSettings(name, { paused: true }, by)
    this.apply(entry, { job: name, paused: true, schedule: entry.override })
    return entry
  }

  async resume(name: string, by: string): Promise<JobEntry> {
    const entry = this.entry(name)
    await this.deps.repo.saveSettings(name, { paused: false }, by)
    this.apply(entry, { job: name, paused: false, schedule: entry.override })
    return entry
  }

  /** Sets (or, with null, removes) the API schedule override. */
  async setSchedule(name: string, expression: string | null, by: string): Promise<JobEntry> {
    const entry = this.entry(name)
    const problem = expression === null ? null : scheduleProblem(expression)
    if (problem)
      throw badRequest(`Invalid cron expression ${JSON.stringify(expression)}: ${problem}`, 'invalid_schedule')
    await this.deps.repo.saveSettings(name, { schedule: expression }, by)
    this.apply(entry, { job: name, paused: entry.paused, schedule: expression })
    return entry
  }

  /** Reloads pause state and overrides (other instances may have changed them) and last outcomes. */
  async syncSettings(): Promise<void> {
    const settings = await this.deps.repo.settings()
    for (const entry of this.entries.values()) {
      this.apply(entry, settings.get(entry.job.name) ?? { job: entry.job.name, paused: false, schedule: null })
    }
    const { lastOutcome } = await this.deps.repo.latest(this.all().map((e) => e.job.name))
    for (const [job, status] of lastOutcome) this.failing.set(job, status !== 'success')
  }

  private apply(entry: JobEntry, settings: JobSettings): void {
    const rescheduled = settings.schedule !== entry.override
    const pausedChanged = settings.paused !== entry.paused
    entry.paused = settings.paused
    entry.override = settings.schedule
    if (!this.started || (!rescheduled && !pausedChanged)) return
    this.schedule(entry)
  }

  private createTask(entry: JobEntry): ScheduledTask {
    const { log } = this.deps
    return cron.createTask(
      this.effectiveSchedule(entry).expression,
      (context) => this.onOccurrence(entry, context.date),
      {
        name: `${entry.job.name}@${this.deps.instanceId}`,
        logger: {
          info: (message) => log.debug({ job: entry.job.name }, message),
          warn: (message) => log.warn({ job: entry.job.name }, message),
          error: (message, err) => log.error({ job: entry.job.name, err: err ?? message }, 'scheduler error'),
          debug: (message) => log.debug({ job: entry.job.name }, String(message)),
        },
      },
    )
  }

  private schedule(entry: JobEntry): void {
    this.unschedule(entry)
    entry.task = this.createTask(entry)
    if (this.deps.enabled && !entry.paused) void entry.task.start()
  }

  private unschedule(entry: JobEntry): void {
    if (entry.task) void entry.task.destroy()
    entry.task = null
  }

  private async onOccurrence(entry: JobEntry, occurrence: Date): Promise<void> {
    const { job } = entry
    try {
      // Another instance may have paused it since the last sync: the store decides.
      const stored = await this.deps.repo.settingsFor(job.name).catch(() => undefined)
      if (stored?.paused) return this.apply(entry, stored)
      const instanceScoped = (job.scope ?? 'cluster') === 'instance'
      await this.runner.start(job, {
        trigger: 'schedule',
        occurrenceKey: instanceScoped ? null : occurrenceKey(occurrence),
      })
    } catch (err) {
      this.deps.log.error({ err, job: job.name }, 'could not start scheduled job run')
    }
  }

  private async catchUp(now: Date): Promise<void> {
    const { lastSuccess } = await this.deps.repo.latest(this.all().map((e) => e.job.name))
    for (const entry of this.entries.values()) {
      if (entry.paused) continue
      const key = missedOccurrenceKey(
        entry.job.catchUp ?? 'none',
        lastSuccess.get(entry.job.name),
        schedulePeriodMs(this.nextRuns(entry, 2)),
        now,
      )
      if (!key) continue
      this.deps.log.info(
        { job: entry.job.name, lastSuccess: lastSuccess.get(entry.job.name) },
        'job missed its schedule; catching up',
      )
      await this.runner.start(entry.job, { trigger: 'catch-up', occurrenceKey: key, now })
    }
  }
}

const envName = (job: string) => job.toUpperCase().replace(/-/g, '_')
