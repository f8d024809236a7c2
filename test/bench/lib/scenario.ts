import type { Loader } from './loader.js'
import type { ScenarioResult } from './report.js'

export interface Context {
  loader: Loader
}

/** What `run` measured; `ours` and `peer` default to the scenario's own (set them only to say more). */
export type Outcome = Omit<ScenarioResult, 'id' | 'title' | 'seconds' | 'ours' | 'peer'> &
  Partial<Pick<ScenarioResult, 'ours' | 'peer'>>

export interface Scenario {
  id: string
  title: string
  /** What "ours" and "peer" are, for the table heading. */
  ours: string
  peer: string
  /** Seconds with default settings: the plan printed at start. */
  estimateSeconds: number
  /** Part of a plain `npm run bench` (the soak is not: it runs for ten minutes). */
  inSuite: boolean
  /**
   * Optional first phase, started before every other scenario and finished by `run` at the
   * end: for measurements that mostly wait (Prometheus with its default one-minute intervals).
   */
  begin?(context: Context): Promise<void>
  run(context: Context): Promise<Outcome>
}

export function skipped(reason: string): Outcome {
  return { rows: [], notes: [], skipped: reason }
}
