import cronstrue from 'cronstrue'
import cron from 'node-cron'

/** Why a cron expression is invalid, in words, or null when it is valid. */
export function scheduleProblem(expression: string): string | null {
  if (expression.length > 200) return 'is longer than 200 characters'
  try {
    const result = cron.validateDetailed(expression)
    if (result.valid) return null
    return result.errors.map((e) => `${e.field}: ${e.message}`).join('; ')
  } catch (err) {
    return err instanceof Error ? err.message : String(err)
  }
}

/** "Every 15 seconds", "At 03:00": what the dashboard shows next to the expression. */
export function describeSchedule(expression: string): string {
  try {
    return cronstrue.toString(expression, { use24HourTimeFormat: true, verbose: false })
  } catch {
    return expression
  }
}

/**
 * Length of one period of a schedule: the gap between its next two occurrences (a day for
 * "0 0 3 * * *"). Catch-up compares the age of the last success with it.
 */
export function schedulePeriodMs(nextRuns: Date[]): number | null {
  const [first, second] = nextRuns
  if (!first || !second) return null
  return second.getTime() - first.getTime()
}

/** Key of one scheduled occurrence: what instances compete for in job_runs.occurrence_key. */
export const occurrenceKey = (occurrence: Date): string => `schedule:${occurrence.toISOString()}`
