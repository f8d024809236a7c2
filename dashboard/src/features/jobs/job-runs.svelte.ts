import type { JobEvent, JobReport, JobRun, JobRunStatus } from '../../../../server/contract/index.js'
import type { Wire } from '../../../../server/contract/index.js'
import type { Api } from '../../lib/api.js'
import type { LiveConnection } from '../../lib/live.svelte.js'

export type JobEventData = Wire<JobEvent>
export type JobRunView = Wire<JobRun>

/** One run as the dashboard follows it: what the server said about it last. */
export interface FollowedRun {
  runId: string
  job: string
  status: JobRunStatus
  attempt: number
  /** The latest intermediate report of a running run (`ctx.progress`). */
  progress: JobReport | null
  /** The final report (job_runs.output) once it finished. */
  report: JobReport | null
  error: string | null
  durationMs: number | null
  startedAt: string | null
  finishedAt: string | null
}

export interface StartedRun {
  runId: string
  job: string
  status: 'running' | 'skipped'
}

/** A safety net for a live feed that drops out mid-run: the stored run is read this often. */
const POLL_MS = 5_000

/**
 * Follows one job run to its end: its 'job' live events as they come (progress, finish),
 * and the stored run (`GET /api/jobs/:name/runs/:id`) when it finishes, or every few seconds
 * while the live feed says nothing. Events that arrive before the start request answers
 * (the server announces the run before it replies) are kept and applied.
 */
export class RunFollower {
  run = $state.raw<FollowedRun | null>(null)
  private stopLive: (() => void) | null = null
  private timer: ReturnType<typeof setInterval> | undefined
  private early: JobEventData[] = []
  private waitingFor: string | null = null

  constructor(
    private readonly api: Api,
    private readonly live: Pick<LiveConnection, 'on'>,
  ) {}

  get running(): boolean {
    return this.run?.status === 'running'
  }

  /** Starts a run through `start` (a POST answering 202 with the run id) and follows it. */
  async start(job: string, start: () => Promise<StartedRun>): Promise<StartedRun> {
    this.stop()
    this.waitingFor = job
    this.early = []
    this.stopLive = this.live.on('job', (m) => this.onEvent(m.data))
    let started: StartedRun
    try {
      started = await start()
    } catch (err) {
      this.stop()
      throw err
    }
    this.follow(started.job, started.runId, started.status === 'skipped' ? 'skipped' : 'running')
    return started
  }

  /** Follows a run that is already going (or done): its current stored state first. */
  attach(job: string, runId: string): void {
    this.stop()
    this.stopLive = this.live.on('job', (m) => this.onEvent(m.data))
    this.follow(job, runId, 'running')
    void this.reload()
  }

  stop(): void {
    this.stopLive?.()
    this.stopLive = null
    clearInterval(this.timer)
    this.timer = undefined
    this.waitingFor = null
    this.early = []
  }

  private follow(job: string, runId: string, status: JobRunStatus): void {
    this.waitingFor = null
    this.run = {
      runId,
      job,
      status,
      attempt: 1,
      progress: null,
      report: null,
      error: null,
      durationMs: null,
      startedAt: null,
      finishedAt: null,
    }
    for (const event of this.early.splice(0)) this.onEvent(event)
    if (this.run.status === 'running') {
      clearInterval(this.timer)
      this.timer = setInterval(() => void this.reload(), POLL_MS)
    } else {
      void this.reload()
    }
  }

  private onEvent(event: JobEventData): void {
    const run = this.run
    if (this.waitingFor !== null) {
      if (event.job === this.waitingFor) this.early.push(event)
      return
    }
    if (!run || event.runId !== run.runId) return
    if (event.type === 'finished') {
      this.run = {
        ...run,
        status: event.status,
        attempt: event.attempt,
        report: event.report ?? null,
        error: event.error ?? null,
        durationMs: event.durationMs ?? null,
      }
      clearInterval(this.timer)
      // The stored row is the record: its report and times replace what the event said.
      void this.reload()
    } else if (run.status === 'running') {
      this.run = {
        ...run,
        attempt: event.attempt,
        progress: event.type === 'progress' ? (event.report ?? run.progress) : run.progress,
      }
    }
  }

  private async reload(): Promise<void> {
    const run = this.run
    if (!run) return
    try {
      const { run: stored } = await this.api.get<{ run: JobRunView }>(
        `/api/jobs/${encodeURIComponent(run.job)}/runs/${encodeURIComponent(run.runId)}`,
      )
      if (this.run?.runId !== stored.id) return
      const current = this.run
      // A finish seen live stays finished even if the read raced ahead of the database write.
      if (stored.status === 'running' && current.status !== 'running') return
      this.run = {
        ...current,
        status: stored.status,
        attempt: stored.attempt,
        report: stored.output,
        error: stored.error,
        durationMs: stored.duration_ms,
        startedAt: stored.started_at,
        finishedAt: stored.finished_at,
      }
      if (stored.status !== 'running') clearInterval(this.timer)
    } catch {
      // The next event or poll tries again; the page shows the last known state meanwhile.
    }
  }
}
