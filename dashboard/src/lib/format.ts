/**
 * Numbers with their units, split so that the UI can style the unit apart from the value.
 * Every formatter answers '—' for null (nothing measured) rather than inventing a zero.
 */
export type Unit = 'ratio' | 'seconds' | 'per_second' | 'count' | 'bytes' | 'boolean' | 'milliseconds' | 'usd'

export interface Formatted {
  value: string
  unit: string
}

export const NO_VALUE = '—'

/** Three significant digits, without exponent notation, trailing zeros kept for a steady width. */
function significant(n: number, digits = 3): string {
  if (n === 0) return '0'
  const abs = Math.abs(n)
  const decimals = Math.max(0, Math.min(3, digits - 1 - Math.floor(Math.log10(abs))))
  return n.toFixed(decimals)
}

export function formatPercent(ratio: number | null): Formatted {
  if (ratio === null || !Number.isFinite(ratio)) return { value: NO_VALUE, unit: '%' }
  const pct = ratio * 100
  return { value: pct >= 99.95 || pct === 0 ? pct.toFixed(0) : pct.toFixed(1), unit: '%' }
}

export function formatSeconds(seconds: number | null): Formatted {
  if (seconds === null || !Number.isFinite(seconds)) return { value: NO_VALUE, unit: 's' }
  const abs = Math.abs(seconds)
  if (abs === 0) return { value: '0', unit: 'ms' }
  if (abs < 0.001) return { value: significant(seconds * 1e6), unit: 'µs' }
  if (abs < 1) return { value: significant(seconds * 1000), unit: 'ms' }
  if (abs < 120) return { value: significant(seconds), unit: 's' }
  if (abs < 7200) return { value: significant(seconds / 60), unit: 'min' }
  return { value: significant(seconds / 3600), unit: 'h' }
}

export function formatRate(perSecond: number | null, what = ''): Formatted {
  const unit = what ? `${what}/s` : '/s'
  if (perSecond === null || !Number.isFinite(perSecond)) return { value: NO_VALUE, unit }
  return { value: significant(perSecond), unit }
}

export function formatCount(n: number | null, unit = ''): Formatted {
  if (n === null || !Number.isFinite(n)) return { value: NO_VALUE, unit }
  return { value: Math.round(n).toLocaleString('en-US'), unit }
}

/** US dollars: cents from $1 up, three significant digits below ("$0.00123"). */
export function formatUsd(usd: number | null): Formatted {
  if (usd === null || !Number.isFinite(usd)) return { value: NO_VALUE, unit: '' }
  return { value: `$${Math.abs(usd) >= 1 ? usd.toFixed(2) : significant(usd)}`, unit: '' }
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

export function formatBytes(bytes: number | null): Formatted {
  if (bytes === null || !Number.isFinite(bytes)) return { value: NO_VALUE, unit: 'B' }
  let value = bytes
  let i = 0
  while (Math.abs(value) >= 1024 && i < BYTE_UNITS.length - 1) {
    value /= 1024
    i++
  }
  return { value: i === 0 ? String(Math.round(value)) : significant(value), unit: BYTE_UNITS[i]! }
}

/** `what` names the thing counted: formatValue(3, 'per_second', 'req') → "3 req/s". */
export function formatValue(value: number | null, unit: Unit, what = ''): Formatted {
  switch (unit) {
    case 'ratio':
      return formatPercent(value)
    case 'seconds':
      return formatSeconds(value)
    case 'milliseconds':
      return formatSeconds(value === null ? null : value / 1000)
    case 'per_second':
      return formatRate(value, what)
    case 'bytes':
      return formatBytes(value)
    case 'boolean':
      return { value: value === null ? NO_VALUE : value >= 1 ? 'up' : 'down', unit: '' }
    case 'count':
      return formatCount(value, what)
    case 'usd':
      return formatUsd(value)
  }
}

/** "12.3 ms" in one string, for tables, titles and chart axes. */
export function formatText(value: number | null, unit: Unit, what = ''): string {
  const f = formatValue(value, unit, what)
  return f.unit && f.value !== NO_VALUE ? `${f.value} ${f.unit}` : f.value
}

/** "5 s ago", "3 min ago", "2 h ago", "4 d ago" (future times read "in 5 s"). */
export function formatRelative(at: number | string | Date, now: number): string {
  const t = typeof at === 'number' ? at : new Date(at).getTime()
  const diff = Math.round((now - t) / 1000)
  const abs = Math.abs(diff)
  const [n, unit] =
    abs < 60
      ? [abs, 's']
      : abs < 3600
        ? [Math.floor(abs / 60), 'min']
        : abs < 86_400
          ? [Math.floor(abs / 3600), 'h']
          : [Math.floor(abs / 86_400), 'd']
  return diff >= 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`
}

/** Local date and time, to the second: "2026-11-21 14:03:07". */
export function formatDateTime(at: number | string | Date): string {
  const d = new Date(at)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}
