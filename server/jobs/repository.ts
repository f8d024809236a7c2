import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import type { JobReport, JobRun, JobRunStatus, JobTrigger } from './types.js'

export interface NewRun {
  id: string
  job: string
  trigger: JobTrigger
  instance: string
  occurrenceKey: string | null
  params: Record<string, unknown>
  status: 'running' | 'skipped'
  startedAt: Date
  error?: string
}

export interface FinishedRun {
  status: Exclude<JobRunStatus, 'running'>
  attempt: number
  finishedAt: Date
  durationMs: number
  error: string | null
  output: JobReport | null
}

export interface JobSettings {
  job: string
  paused: boolean
  schedule: string | null
}

const RUN_COLUMNS = [
  'id',
  'job',
  'trigger',
  'instance',
  'params',
  'status',
  'attempt',
  'started_at',
  'finished_at',
  'duration_ms',
  'error',
  'output',
] as const

/** job_runs (history and per-occurrence claims) and job_settings (pause, schedule overrides). */
export class JobRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Inserts the run. For an occurrence another instance already claimed, inserts nothing and
   * returns false: that is how one occurrence runs once across instances.
   */
  async claim(run: NewRun): Promise<boolean> {
    const inserted = await this.db
      .insertInto('job_runs')
      .values({
        id: run.id,
        job: run.job,
        trigger: run.trigger,
        instance: run.instance,
        occurrence_key: run.occurrenceKey,
        params: JSON.stringify(run.params),
        status: run.status,
        started_at: run.startedAt,
        ...(run.status === 'skipped' ? { finished_at: run.startedAt, duration_ms: 0, error: run.error ?? null } : {}),
      })
      .onConflict((oc) => oc.columns(['job', 'occurrence_key']).doNothing())
      .returning('id')
      .executeTakeFirst()
    return inserted !== undefined
  }

  async setAttempt(id: string, attempt: number): Promise<void> {
    await this.db.updateTable('job_runs').set({ attempt }).where('id', '=', id).execute()
  }

  async skip(id: string, error: string, at: Date): Promise<void> {
    await this.db
      .updateTable('job_runs')
      .set({ status: 'skipped', error, finished_at: at, duration_ms: 0 })
      .where('id', '=', id)
      .execute()
  }

  async finish(id: string, result: FinishedRun): Promise<void> {
    await this.db
      .updateTable('job_runs')
      .set({
        status: result.status,
        attempt: result.attempt,
        finished_at: result.finishedAt,
        duration_ms: Math.round(result.durationMs),
        error: result.error,
        output: result.output === null ? null : JSON.stringify(result.output),
      })
      .where('id', '=', id)
      .execute()
  }

  async get(job: string, id: string): Promise<JobRun | undefined> {
    return (await this.db
      .selectFrom('job_runs')
      .select(RUN_COLUMNS)
      .where('job', '=', job)
      .where('id', '=', id)
      .executeTakeFirst()) as JobRun | undefined
  }

  /** Newest first; `before` is the id of the last run of the previous page. */
  async list(job: string, options: { limit: number; before?: string; status?: JobRunStatus }): Promise<JobRun[]> {
    let query = this.db.selectFrom('job_runs').select(RUN_COLUMNS).where('job', '=', job)
    if (options.status) query = query.where('status', '=', options.status)
    if (options.before) {
      const cursor = await this.db
        .selectFrom('job_runs')
        .select(['started_at', 'id'])
        .where('id', '=', options.before)
        .executeTakeFirst()
      if (!cursor) return []
      query = query.where(({ eb, refTuple, tuple }) =>
        eb(refTuple('started_at', 'id'), '<', tuple(cursor.started_at, cursor.id)),
      )
    }
    return (await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute()) as JobRun[]
  }

  /**
   * For each of `jobs`: its latest run, latest success, and the status of the latest run that
   * ran (skips say nothing about health). One index-backed lookup per job, however long the
   * history (the health check alone adds thousands of rows a day).
   */
  async latest(jobs: string[]): Promise<{
    lastRuns: Map<string, JobRun>
    lastSuccess: Map<string, Date>
    lastOutcome: Map<string, JobRunStatus>
  }> {
    const lastRuns = new Map<string, JobRun>()
    const lastSuccess = new Map<string, Date>()
    const lastOutcome = new Map<string, JobRunStatus>()
    const newest = (job: string) =>
      this.db.selectFrom('job_runs').where('job', '=', job).orderBy('started_at', 'desc').orderBy('id', 'desc').limit(1)
    await Promise.all(
      jobs.map(async (job) => {
        const [run, success, outcome] = await Promise.all([
          newest(job).select(RUN_COLUMNS).executeTakeFirst(),
          newest(job).select('started_at').where('status', '=', 'success').executeTakeFirst(),
          newest(job).select('status').where('status', 'in', ['success', 'failed', 'timeout']).executeTakeFirst(),
        ])
        if (run) lastRuns.set(job, run as JobRun)
        if (success) lastSuccess.set(job, new Date(success.started_at))
        if (outcome) lastOutcome.set(job, outcome.status)
      }),
    )
    return { lastRuns, lastSuccess, lastOutcome }
  }

  /** For each job with a run marked running (on any instance), when the latest of them started. */
  async runningSince(): Promise<Map<string, Date>> {
    const rows = await this.db
      .selectFrom('job_runs')
      .select(['job', sql<Date>`max(started_at)`.as('at')])
      .where('status', '=', 'running')
      .groupBy('job')
      .execute()
    return new Map(rows.map((r) => [r.job, new Date(r.at)]))
  }

  /** Runs left 'running' by an instance that stopped mid-run: they can no longer finish. */
  async failAbandoned(job: string, startedBefore: Date, now: Date): Promise<number> {
    const result = await this.db
      .updateTable('job_runs')
      .set({
        status: 'failed',
        finished_at: now,
        error: 'abandoned: the instance running it stopped before it finished',
      })
      .where('job', '=', job)
      .where('status', '=', 'running')
      .where('started_at', '<', startedBefore)
      .executeTakeFirst()
    return Number(result.numUpdatedRows)
  }

  async settings(): Promise<Map<string, JobSettings>> {
    const rows = await this.db.selectFrom('job_settings').select(['job', 'paused', 'schedule']).execute()
    return new Map(rows.map((r) => [r.job, r]))
  }

  async settingsFor(job: string): Promise<JobSettings | undefined> {
    return this.db
      .selectFrom('job_settings')
      .select(['job', 'paused', 'schedule'])
      .where('job', '=', job)
      .executeTakeFirst()
  }

  async saveSettings(job: string, change: { paused?: boolean; schedule?: string | null }, by: string): Promise<void> {
    await this.db
      .insertInto('job_settings')
      .values({
        job,
        paused: change.paused ?? false,
        schedule: change.schedule ?? null,
        updated_by: by,
        updated_at: new Date(),
      })
      .onConflict((oc) => oc.column('job').doUpdateSet({ ...change, updated_by: by, updated_at: new Date() }))
      .execute()
  }
}
