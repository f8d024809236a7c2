import type { Labels, Snapshot } from '../../../server/contract/index.js'
import type { SeriesHistory } from '../../../server/contract/index.js'

/** Identifies one line: a signal and a label set (labels sorted, so order never matters). */
export function lineKey(name: string, labels: Labels = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
  return parts.length ? `${name}{${parts.join(',')}}` : name
}

interface Line {
  name: string
  labels: Labels
  values: Array<number | null>
}

/** Column-aligned data for uPlot: x (epoch ms) first, then one array per requested line. */
export type AlignedData = [number[], ...Array<Array<number | null>>]

/**
 * Every signal of the connected instance, the recent past (history on connect) plus each
 * snapshot, column-aligned as uPlot wants it and trimmed to `retentionMs`. `version` changes
 * on every update: charts and tiles read it to know when to redraw.
 */
export class SignalStore {
  version = $state(0)
  /** The newest snapshot (null before the first one). */
  latest = $state.raw<Snapshot | null>(null)

  private times: number[] = []
  private lines = new Map<string, Line>()

  constructor(private readonly retentionMs = 60 * 60_000) {}

  /** Replaces everything with the history a (re)connection starts with. */
  loadHistory(history: SeriesHistory): void {
    this.times = [...history.times]
    this.lines = new Map(
      history.lines.map((l) => [lineKey(l.name, l.labels), { name: l.name, labels: l.labels, values: [...l.values] }]),
    )
    this.version++
  }

  append(snapshot: Snapshot): void {
    const last = this.times.at(-1)
    if (last !== undefined && snapshot.at <= last) return
    const column = this.times.length
    this.times.push(snapshot.at)
    for (const s of snapshot.signals) {
      const key = lineKey(s.name, s.labels)
      let line = this.lines.get(key)
      if (!line) {
        line = { name: s.name, labels: s.labels, values: new Array(column).fill(null) }
        this.lines.set(key, line)
      }
      line.values.push(s.value)
    }
    for (const line of this.lines.values()) if (line.values.length === column) line.values.push(null)
    this.trim(snapshot.at)
    this.latest = snapshot
    this.version++
  }

  /** The latest value of a line: from the newest snapshot, else the last sample of the history. */
  value(name: string, labels: Labels = {}): number | null {
    const line = this.lines.get(lineKey(name, labels))
    return line ? (line.values.at(-1) ?? null) : null
  }

  /** Label sets of every line of a signal, sorted by their key. */
  labelSets(name: string): Labels[] {
    return [...this.lines.values()]
      .filter((l) => l.name === name)
      .sort((a, b) => lineKey(a.name, a.labels).localeCompare(lineKey(b.name, b.labels)))
      .map((l) => l.labels)
  }

  /** The newest sample time, or null when there is none. */
  lastAt(): number | null {
    return this.times.at(-1) ?? null
  }

  /** Columns of the given lines over the last `spanMs` before the newest sample. */
  window(keys: string[], spanMs: number): AlignedData {
    const end = this.times.at(-1) ?? 0
    const start = firstAtOrAfter(this.times, end - spanMs)
    const empty = (): Array<number | null> => new Array(this.times.length - start).fill(null)
    return [this.times.slice(start), ...keys.map((k) => this.lines.get(k)?.values.slice(start) ?? empty())]
  }

  private trim(now: number): void {
    const cut = firstAtOrAfter(this.times, now - this.retentionMs)
    // Trim in batches: shifting thousands of entries every second would be wasted work.
    if (cut < 60) return
    this.times.splice(0, cut)
    for (const line of this.lines.values()) line.values.splice(0, cut)
  }
}

function firstAtOrAfter(sorted: number[], at: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (sorted[mid]! < at) lo = mid + 1
    else hi = mid
  }
  return lo
}
