import type { HttpLoad, HttpResult } from './load-types.js'
import type { Loader } from './loader.js'
import { HELLO_LOAD } from './peers.js'
import type { Proc } from './procs.js'
import { settings } from './settings.js'
import { median } from './stats.js'

export interface Side<M> {
  label: string
  /** This side's own processes: paused (SIGSTOP) while the other side is measured. */
  procs: Proc[]
  measure(round: number): Promise<M>
}

export interface Round<M> {
  first: 'ours' | 'peer'
  ours: M
  peer: M
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`)
}

/**
 * Alternating rounds over N sides: round i starts with side i mod N and goes round the list
 * (A B, B A for two), so that drift (thermal, a neighbour's build) lands on every side. Only
 * the measured side runs: the others' processes are paused.
 */
export async function rotate<M>(
  sides: Array<Side<M>>,
  options: { rounds?: number; describe?: (m: M) => string } = {},
): Promise<M[][]> {
  const rounds = options.rounds ?? settings.rounds
  const describe = options.describe ?? ((m: M) => JSON.stringify(m))
  const all = sides.flatMap((s) => s.procs)
  const results: M[][] = []
  try {
    for (let i = 0; i < rounds; i++) {
      const round: M[] = new Array(sides.length)
      for (let k = 0; k < sides.length; k++) {
        const index = (i + k) % sides.length
        const side = sides[index]!
        for (const p of all) if (!side.procs.includes(p)) p.freeze()
        for (const p of side.procs) p.thaw()
        round[index] = await side.measure(i)
      }
      results.push(round)
      log(`    round ${i + 1}/${rounds}: ${sides.map((s, k) => `${s.label} ${describe(round[k]!)}`).join(' | ')}`)
    }
  } finally {
    for (const p of all) p.thaw()
  }
  return results
}

/** Two sides, ours and a peer. */
export async function alternate<M>(
  ours: Side<M>,
  peer: Side<M>,
  options: { rounds?: number; describe?: (m: M) => string } = {},
): Promise<Array<Round<M>>> {
  const rounds = await rotate([ours, peer], options)
  return rounds.map((r, i) => ({ first: i % 2 === 0 ? 'ours' : 'peer', ours: r[0]!, peer: r[1]! }))
}

/** The rounds of `rotate` as ours-vs-peer pairs, for `compare`. */
export function pairs<M>(rounds: M[][], ours: number, peer: number): Array<Round<M>> {
  return rounds.map((r, i) => ({ first: i % 2 === 0 ? 'ours' : 'peer', ours: r[ours]!, peer: r[peer]! }))
}

export interface Compared {
  ours: number
  peer: number
  /** Median of the per-round ratios ours / peer. */
  ratio: number
}

export function compare<M>(rounds: Array<Round<M>>, pick: (m: M) => number): Compared {
  return {
    ours: median(rounds.map((r) => pick(r.ours))),
    peer: median(rounds.map((r) => pick(r.peer))),
    ratio: median(rounds.map((r) => pick(r.ours) / pick(r.peer))),
  }
}

/** Unmeasured load before a side's first round: the JIT has compiled the hot path by then. */
export const FIRST_WARMUP_SECONDS = 2

/** A side that measures autocannon throughput, after a short unmeasured warm-up. */
export function httpSide(
  loader: Loader,
  label: string,
  procs: Proc[],
  load: () => Omit<HttpLoad, 'op' | 'durationSec'>,
): Side<HttpResult> {
  return {
    label,
    procs,
    async measure(round) {
      const spec = load()
      const warmup = round === 0 ? Math.max(FIRST_WARMUP_SECONDS, settings.warmupSeconds) : settings.warmupSeconds
      if (warmup > 0) await loader.http({ ...spec, durationSec: warmup })
      const result = await loader.http({ ...spec, durationSec: settings.roundSeconds })
      if (result.ok === 0)
        throw new Error(
          `${label}: no successful response (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`,
        )
      return result
    },
  }
}

/** An httpSide loading `GET /hello` (HELLO_LOAD) on one peer server. */
export function helloSide(loader: Loader, label: string, peer: Proc): Side<HttpResult> {
  return httpSide(loader, label, [peer], () => ({ url: `${peer.url}/hello`, ...HELLO_LOAD }))
}

export const describeHttp = (r: HttpResult) =>
  `${Math.round(r.okPerSec).toLocaleString('en-US')} req/s p99 ${r.latencyMs.p99} ms${r.non2xx + r.errors + r.timeouts ? ` (failures: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts)` : ''}`

/** Failures during measured load make a throughput figure meaningless: say so in the table. */
export function failureNote(rounds: Array<Round<HttpResult>>): string | undefined {
  const count = (side: 'ours' | 'peer') =>
    rounds.reduce((n, r) => n + r[side].non2xx + r[side].errors + r[side].timeouts, 0)
  const ours = count('ours')
  const peer = count('peer')
  if (ours + peer === 0) return undefined
  return `failed requests: ours ${ours}, peer ${peer}`
}
