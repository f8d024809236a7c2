import { PointRing } from './ring-buffer.js'
import { labelsKey, type Labels, type SeriesLine, type SeriesReader, type Snapshot } from './snapshot.js'

export interface SeriesStoreOptions {
  /** How long a point is kept. */
  retentionMs: number
  /** Expected time between snapshots; with retention, gives the points a line holds. */
  intervalMs: number
  /** Most lines (signal + label set) held; snapshots' new label sets beyond it are dropped. */
  maxLines?: number
  /** Called once when the line limit first drops a label set. */
  onLineLimit?: (name: string, labels: Labels) => void
}

/** A line never holds more than a day at one point a second, whatever the configuration. */
export const MAX_POINTS_PER_LINE = 86_400
export const DEFAULT_MAX_LINES = 256

interface Line {
  name: string
  labels: Labels
  ring: PointRing
}

/**
 * The in-memory history of every signal: one ring buffer per signal and label set.
 * Memory bound: lines × points × 16 bytes, with points = min(retention / interval, 86 400)
 * and lines ≤ maxLines (256). At the defaults (60 min at 1 s) that is 57.6 KB a line, about
 * 2.5 MB for the ~40 lines a typical instance has, and 14.7 MB at most.
 */
export class SeriesStore implements SeriesReader {
  private readonly lines = new Map<string, Line>()
  private readonly capacity: number
  private readonly maxLines: number
  private warnedLineLimit = false

  constructor(private readonly options: SeriesStoreOptions) {
    this.capacity = Math.max(1, Math.min(MAX_POINTS_PER_LINE, Math.ceil(options.retentionMs / options.intervalMs)))
    this.maxLines = options.maxLines ?? DEFAULT_MAX_LINES
  }

  append(snapshot: Snapshot): void {
    for (const { name, labels, value } of snapshot.signals) {
      const key = `${name}{${labelsKey(labels)}}`
      let line = this.lines.get(key)
      if (!line) {
        if (this.lines.size >= this.maxLines) {
          if (!this.warnedLineLimit) this.options.onLineLimit?.(name, labels)
          this.warnedLineLimit = true
          continue
        }
        line = { name, labels: { ...labels }, ring: new PointRing(this.capacity) }
        this.lines.set(key, line)
      }
      line.ring.push(snapshot.at, value)
    }
    this.dropStaleLines(snapshot.at)
  }

  query(name: string, matchers: Labels = {}, sinceMs?: number): SeriesLine[] {
    const result: SeriesLine[] = []
    for (const line of this.lines.values()) {
      if (line.name !== name) continue
      if (!Object.entries(matchers).every(([k, v]) => line.labels[k] === v)) continue
      result.push({ name, labels: { ...line.labels }, points: line.ring.pointsSince(sinceMs) })
    }
    return result.sort((a, b) => labelsKey(a.labels).localeCompare(labelsKey(b.labels)))
  }

  names(): string[] {
    return [...new Set([...this.lines.values()].map((l) => l.name))].sort()
  }

  lineCount(): number {
    return this.lines.size
  }

  /** A label set that has not been seen for the whole retention (a gone cache type) goes. */
  private dropStaleLines(now: number): void {
    for (const [key, line] of this.lines) {
      const last = line.ring.lastTime()
      if (last !== null && now - last > this.options.retentionMs) this.lines.delete(key)
    }
  }
}
