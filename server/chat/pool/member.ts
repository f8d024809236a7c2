import type { ChatProvider } from '../providers/types.js'
import { Circuit, type CircuitSettings } from './circuit.js'

export type AdminState = 'active' | 'draining' | 'disabled'
export const ADMIN_STATES: readonly AdminState[] = ['active', 'draining', 'disabled']

/** Recent durations kept per upstream for its p95 and its sparkline. */
const RECENT = 200

export interface ProbeResult {
  at: string
  up: boolean
  error?: string
}

/** One upstream of the pool: its provider, circuit, admin state and what it has done lately. */
export class Member {
  readonly circuit: Circuit
  admin: AdminState = 'active'
  inFlight = 0
  requests = 0
  errors = 0
  probe: ProbeResult | null = null
  /** Model ids its /models listed at the last probe. */
  models = new Set<string>()
  /** Smooth weighted round-robin's running score (nginx's algorithm). */
  current = 0
  readonly latenciesMs: number[] = []
  readonly ttftsMs: number[] = []

  constructor(
    readonly name: string,
    readonly provider: ChatProvider,
    readonly weight: number,
    readonly maxConcurrency: number | undefined,
    circuit: CircuitSettings,
  ) {
    this.circuit = new Circuit(circuit)
  }

  /** May take a new request now: active, circuit letting one through, below its concurrency. */
  eligible(now: number): boolean {
    return this.admin === 'active' && this.hasRoom() && this.circuit.available(now)
  }

  hasRoom(): boolean {
    return this.maxConcurrency === undefined || this.inFlight < this.maxConcurrency
  }

  recordLatency(ms: number, ttftMs: number | null): void {
    push(this.latenciesMs, ms)
    if (ttftMs !== null) push(this.ttftsMs, ttftMs)
  }

  meanLatencyMs(): number {
    const recent = this.latenciesMs.slice(-20)
    return recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : 0
  }
}

function push(ring: number[], value: number): void {
  ring.push(value)
  if (ring.length > RECENT) ring.shift()
}

export function p95(values: readonly number[]): number | null {
  if (!values.length) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!
}
