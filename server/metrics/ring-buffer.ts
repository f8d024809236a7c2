import type { SeriesPoint } from './snapshot.js'

const INITIAL_SLOTS = 64

/**
 * Fixed-capacity ring of (time, value) points in two Float64Arrays: 16 bytes a point, no
 * object per point. It starts small and doubles up to `capacity`, so a line that appeared a
 * minute ago costs a minute of points, not the whole retention. Null values are NaN inside.
 */
export class PointRing {
  private times: Float64Array
  private values: Float64Array
  private start = 0
  private length = 0

  constructor(private readonly capacity: number) {
    const slots = Math.min(capacity, INITIAL_SLOTS)
    this.times = new Float64Array(slots)
    this.values = new Float64Array(slots)
  }

  get size(): number {
    return this.length
  }

  lastTime(): number | null {
    return this.length === 0 ? null : this.times[(this.start + this.length - 1) % this.times.length]!
  }

  push(at: number, value: number | null): void {
    if (this.length === this.times.length && this.times.length < this.capacity) this.grow()
    const slots = this.times.length
    if (this.length === slots) {
      // Full: overwrite the oldest point.
      this.times[this.start] = at
      this.values[this.start] = value ?? NaN
      this.start = (this.start + 1) % slots
      return
    }
    const index = (this.start + this.length) % slots
    this.times[index] = at
    this.values[index] = value ?? NaN
    this.length++
  }

  /** Points at or after `sinceMs`, oldest first. */
  pointsSince(sinceMs = -Infinity): SeriesPoint[] {
    const points: SeriesPoint[] = []
    const slots = this.times.length
    for (let i = 0; i < this.length; i++) {
      const index = (this.start + i) % slots
      const at = this.times[index]!
      if (at < sinceMs) continue
      const value = this.values[index]!
      points.push([at, Number.isNaN(value) ? null : value])
    }
    return points
  }

  private grow(): void {
    const slots = Math.min(this.capacity, this.times.length * 2)
    const times = new Float64Array(slots)
    const values = new Float64Array(slots)
    for (let i = 0; i < this.length; i++) {
      const index = (this.start + i) % this.times.length
      times[i] = this.times[index]!
      values[i] = this.values[index]!
    }
    this.times = times
    this.values = values
    this.start = 0
  }
}
