import type { JobContext, JobDefinition, JobReport } from './types.js'

/**
 * A job failure that still carries what the job did before failing (shown in the run).
 * `retryable: false` says another attempt would fail the same way (duplicates in a unique
 * index): the runner stops there instead of retrying.
 */
export class JobFailure extends Error {
  override name = 'JobFailure'
  constructor(
    message: string,
    readonly report: JobReport,
    readonly retryable = true,
  ) {
    super(message)
  }
}

export class JobTimeout extends Error {
  override name = 'JobTimeout'
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`)
  }
}

export type AttemptOutcome =
  | { status: 'success'; report: JobReport; error: null }
  | { status: 'failed' | 'timeout'; report: JobReport | null; error: string; retryable: boolean }

/** After an abort, how long we wait for the job to notice before moving on without it. */
const ABANDON_GRACE_MS = 5_000

/**
 * One attempt of a job under a deadline. The job gets an AbortSignal that fires on timeout,
 * on shutdown or when the run's lock is lost; the attempt ends then even if the job ignores
 * the signal (after a short grace, so that a retry rarely overlaps a straggler).
 */
export async function runAttempt(
  job: JobDefinition,
  ctx: JobContext,
  stop: AbortSignal,
  lastProgress: () => JobReport | null,
): Promise<AttemptOutcome> {
  const deadline = new AbortController()
  const timer = setTimeout(() => deadline.abort(new JobTimeout(job.timeoutMs)), job.timeoutMs)
  const signal = AbortSignal.any([deadline.signal, stop])
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason)
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  aborted.catch(() => undefined)
  const work = Promise.resolve().then(() => job.run(ctx, signal))
  work.catch(() => undefined)
  try {
    const report = await Promise.race([work, aborted])
    return { status: 'success', report: report ?? {}, error: null }
  } catch (err) {
    if (signal.aborted) await settleWithin(work, ABANDON_GRACE_MS)
    const timedOut = deadline.signal.aborted
    const reason = signal.aborted ? signal.reason : err
    const report = err instanceof JobFailure ? err.report : lastProgress()
    const retryable = !(err instanceof JobFailure) || err.retryable
    return { status: timedOut ? 'timeout' : 'failed', report, error: messageOf(reason), retryable }
  } finally {
    clearTimeout(timer)
    if (onAbort) signal.removeEventListener('abort', onAbort)
  }
}

async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([work.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))])
  clearTimeout(timer)
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message
  return typeof err === 'string' ? err : JSON.stringify(err)
}

/** Waits `ms`, or less if `signal` fires: true when the whole wait happened. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
