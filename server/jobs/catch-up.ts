import type { CatchUpPolicy } from './types.js'

/**
 * Whether a job missed its schedule while no instance was running: its last success is older
 * than one period. Returns the key of the missed occurrence (instances starting together
 * compete for it, so the catch-up runs once), or null when nothing was missed. A job that
 * never succeeded is a fresh install, not a missed run: it waits for its schedule.
 */
export function missedOccurrenceKey(
  policy: CatchUpPolicy,
  lastSuccessAt: Date | undefined,
  periodMs: number | null,
  now: Date,
): string | null {
  if (policy !== 'once' || !lastSuccessAt || periodMs === null) return null
  if (now.getTime() - lastSuccessAt.getTime() <= periodMs) return null
  return `catch-up:${lastSuccessAt.toISOString()}`
}
