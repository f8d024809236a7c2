import { CronExpressionParser } from 'cron-parser'
import { allMatch, type LabelMatcher, type Labels } from './labels.js'

/**
 * A maintenance window mutes notifications (never evaluation) for the alerts its matchers
 * select: once, between `startsAt` and `endsAt`, or on every occurrence of `cron` (in
 * `timezone`, so a 22:00 window stays at 22:00 local time across DST) for `durationMs`.
 */
export type MaintenanceWindow =
  | { id: string; matchers: LabelMatcher[]; startsAt: number; endsAt: number }
  | { id: string; matchers: LabelMatcher[]; cron: string; durationMs: number; timezone: string }

/** One occurrence of a window; `start` identifies it (a window's ids and starts make suppressions unique). */
export interface Occurrence {
  windowId: string
  start: number
  end: number
}

function isRecurring(w: MaintenanceWindow): w is Extract<MaintenanceWindow, { cron: string }> {
  return 'cron' in w
}

/** Why a cron expression or timezone is refused, or null. */
export function recurrenceProblem(cron: string, timezone: string): string | null {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone })
  } catch {
    return `timezone ${JSON.stringify(timezone)} is not an IANA timezone`
  }
  if (cron.trim().split(/\s+/).length !== 5) return 'cron must have five fields (minute hour day month weekday)'
  try {
    CronExpressionParser.parse(cron, { tz: timezone, currentDate: 0, strict: false }).next()
    return null
  } catch (err) {
    return `cron ${JSON.stringify(cron)} is not valid: ${(err as Error).message}`
  }
}

/** The occurrence under way at `now`, or null. */
export function occurrenceAt(window: MaintenanceWindow, now: number): Occurrence | null {
  if (!isRecurring(window))
    return window.startsAt <= now && now < window.endsAt
      ? { windowId: window.id, start: window.startsAt, end: window.endsAt }
      : null
  // The latest start at or before now: prev() is strictly before currentDate, hence now + 1.
  const start = CronExpressionParser.parse(window.cron, { tz: window.timezone, currentDate: now + 1 })
    .prev()
    .getTime()
  return now < start + window.durationMs ? { windowId: window.id, start, end: start + window.durationMs } : null
}

/** The next start strictly after `now`, or null (a one-off window that has begun). */
export function nextStart(window: MaintenanceWindow, now: number): number | null {
  if (!isRecurring(window)) return window.startsAt > now ? window.startsAt : null
  return CronExpressionParser.parse(window.cron, { tz: window.timezone, currentDate: now }).next().getTime()
}

/** The occurrences under way at `now`, one per window. */
export function activeOccurrences(windows: readonly MaintenanceWindow[], now: number): Occurrence[] {
  const active: Occurrence[] = []
  for (const w of windows) {
    const occurrence = occurrenceAt(w, now)
    if (occurrence) active.push(occurrence)
  }
  return active
}

/** An occurrence with the matchers of its window: what the engine checks alerts against. */
export interface ActiveWindow extends Occurrence {
  matchers: LabelMatcher[]
}

export function activeWindows(windows: readonly MaintenanceWindow[], now: number): ActiveWindow[] {
  const byId = new Map(windows.map((w) => [w.id, w]))
  return activeOccurrences(windows, now).map((o) => ({ ...o, matchers: byId.get(o.windowId)!.matchers }))
}

/** The first active window that covers an alert with these labels (an empty matcher list covers nothing). */
export function windowCovering(labels: Labels, windows: readonly ActiveWindow[]): ActiveWindow | null {
  return windows.find((w) => w.matchers.length > 0 && allMatch(w.matchers, labels)) ?? null
}

/** True while a window can still mute something: one-off ones until their end, recurring ones always. */
export function windowOver(window: MaintenanceWindow, now: number): boolean {
  return !isRecurring(window) && window.endsAt <= now
}
