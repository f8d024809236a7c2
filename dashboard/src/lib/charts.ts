import { lineKey } from './signals.svelte.js'
import type { Labels } from '../../../server/contract/index.js'

export interface ChartLine {
  /** lineKey(signal, labels) */
  key: string
  label: string
}

export const line = (label: string, signal: string, labels: Labels = {}): ChartLine => ({
  key: lineKey(signal, labels),
  label,
})

export const RANGES_MINUTES = [5, 15, 60] as const
export type RangeMinutes = (typeof RANGES_MINUTES)[number]
