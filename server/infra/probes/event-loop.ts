import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'

/**
 * The app's one event-loop delay measurement. The histogram is read in windows of `windowMs`:
 * each reading is the p99 of the last completed window, so every consumer (the sampler's
 * signal, the health component, load shedding) sees the same number, and none of them resets
 * it under another's feet.
 */
export class EventLoopLag {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 })
  private windowStartedAt: number
  private last: number | null = null

  constructor(
    private readonly windowMs = 1_000,
    now = Date.now(),
  ) {
    this.windowStartedAt = now
    this.histogram.enable()
  }

  /** p99 delay of the last completed window, in seconds; null before one has any sample. */
  p99Seconds(now = Date.now()): number | null {
    if (now - this.windowStartedAt >= this.windowMs || now < this.windowStartedAt) {
      this.last = this.histogram.count > 0 ? this.histogram.percentile(99) / 1e9 : this.last
      this.histogram.reset()
      this.windowStartedAt = now
    }
    return this.last
  }

  /** True while the last window's p99 is over `maxDelayMs`. */
  lagging(maxDelayMs: number, now = Date.now()): boolean {
    const p99 = this.p99Seconds(now)
    return p99 !== null && p99 * 1000 > maxDelayMs
  }

  close(): void {
    this.histogram.disable()
  }
}
