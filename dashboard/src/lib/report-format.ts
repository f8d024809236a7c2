import { formatCount, formatText } from './format.js'

/**
 * How the dashboard writes the values of a job report (a free-form JSON object the job
 * returned), from the key that holds them: `durationMs` is a duration, `sizeBytes` a size,
 * `deadRatioBefore` a share; other numbers are counts of what the key names.
 */
export function formatReportValue(key: string, value: unknown): string {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'number') {
    if (/(^ms|Ms|_ms)([A-Z_]|$)/.test(key)) return formatText(value, 'milliseconds')
    if (/(^bytes|Bytes|_bytes)([A-Z_]|$)/.test(key)) return formatText(value, 'bytes')
    if (/(^ratio|Ratio|_ratio|Rate|_rate)([A-Z_]|$)/.test(key)) return formatText(value, 'ratio')
    if (/(^seconds|Seconds|_seconds)([A-Z_]|$)/.test(key)) return formatText(value, 'seconds')
    return formatCount(value).value
  }
  if (typeof value === 'boolean') return value ? 'yes' : 'no'
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}

/** `deadTuplesBefore` → "dead tuples before"; `heap_blks_total` → "heap blks total". */
export function humanizeKey(key: string): string {
  // The unit goes with the value ("1.20 s"), not the name.
  return key
    .replace(/(Ms|_ms)$/, '')
    .replace(/_/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .trim()
}

export type ReportValue = null | boolean | number | string | ReportValue[] | { [key: string]: ReportValue }

export const isRecord = (v: unknown): v is Record<string, ReportValue> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** A list of objects shows as a table: the union of their keys, in first-seen order. */
export function columnsOf(rows: Array<Record<string, unknown>>): string[] {
  const columns: string[] = []
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key)
  return columns
}
