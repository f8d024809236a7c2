import type { RegistryReading } from './registry-reading.js'

export interface TimedReading {
  at: number
  reading: RegistryReading
}

/**
 * The registry readings of the last window, so that each tick can subtract the reading taken
 * one window ago: counters and histograms become rates, ratios and percentiles over a
 * sliding window. Holds about window / interval readings (61 at the defaults).
 */
export class ReadingWindow {
  private readings: TimedReading[] = []

  constructor(private readonly windowMs: number) {}

  /** Records the reading of `now` and returns the one to subtract from it (null: nothing earlier). */
  push(now: number, reading: RegistryReading): TimedReading | null {
    // A clock that went backwards (NTP step, a test's fake clock) leaves no valid baseline.
    const last = this.readings.at(-1)
    if (last && now < last.at) this.readings = []
    this.readings.push({ at: now, reading })
    return this.baseline(now)
  }

  /** The newest reading at least one window old, else the oldest one before `now`. */
  private baseline(now: number): TimedReading | null {
    const windowStart = now - this.windowMs
    let index = -1
    for (let i = 0; i < this.readings.length; i++) {
      if (this.readings[i]!.at <= windowStart) index = i
      else break
    }
    // Readings older than the baseline are never needed again.
    if (index > 0) this.readings.splice(0, index)
    const candidate = this.readings[0]!
    return candidate.at < now ? candidate : null
  }

  size(): number {
    return this.readings.length
  }
}
