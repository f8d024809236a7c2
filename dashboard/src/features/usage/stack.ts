import type { UsageRowDto } from '../../../../server/contract/index.js'

export type UsageMetric = 'tokens' | 'cost'

export interface StackedSeries {
  /** The token id, project or model (null: no project). */
  key: string | null
  /** Each day's value of this group (0 where it used nothing). */
  values: number[]
  /** Running sum up to and including this group: the top of its band. */
  top: number[]
}

export interface Stack {
  /** UTC day starts, epoch ms. */
  days: number[]
  /** Largest group first (the bottom band); beyond `max`, one group "other" (key `OTHER`). */
  series: StackedSeries[]
  /** Some cells had no known cost (a model without a price): left out, not counted as 0 spent. */
  unknownCost: boolean
}

export const OTHER = '\u0000other'
const DAY_MS = 86_400_000

export const rowValue = (r: UsageRowDto, metric: UsageMetric): number | null =>
  metric === 'tokens' ? r.prompt_tokens + r.completion_tokens : r.cost

/** The last `count` UTC days up to and including the one `now` is in. */
export function lastDays(count: number, now: number): number[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS
  return Array.from({ length: count }, (_, i) => today - (count - 1 - i) * DAY_MS)
}

/** Rows of group_by=day&split_by=… → bands stacked bottom-up, largest group at the bottom. */
export function stackUsage(rows: readonly UsageRowDto[], days: readonly number[], metric: UsageMetric, max = 8): Stack {
  const index = new Map(days.map((d, i) => [d, i]))
  const cells = new Map<string | null, number[]>()
  let unknownCost = false
  for (const r of rows) {
    const day = r.key === null ? undefined : index.get(Date.parse(r.key))
    if (day === undefined) continue
    const v = rowValue(r, metric)
    if (v === null) {
      unknownCost = true
      continue
    }
    const key = r.split ?? null
    const values = cells.get(key) ?? days.map(() => 0)
    values[day]! += v
    cells.set(key, values)
  }
  const total = (vs: number[]) => vs.reduce((s, v) => s + v, 0)
  const groups = [...cells.entries()]
    .map(([key, values]) => ({ key, values }))
    .filter((g) => total(g.values) > 0)
    .sort((a, b) => total(b.values) - total(a.values))
  if (groups.length > max) {
    const rest = groups.splice(max - 1)
    groups.push({ key: OTHER, values: days.map((_, i) => rest.reduce((s, g) => s + g.values[i]!, 0)) })
  }
  const running = days.map(() => 0)
  const series = groups.map((g) => ({
    ...g,
    top: g.values.map((v, i) => (running[i]! += v)),
  }))
  return { days: [...days], series, unknownCost }
}
