import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'

/** Repository root: every process the bench starts runs from here. */
export const ROOT = resolve(import.meta.dirname, '../../..')
export const RESULTS_DIR = resolve(ROOT, 'test/bench/results')

function int(name: string, def: number, min: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return def
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min) throw new Error(`${name}=${raw}: expected a number >= ${min}`)
  return value
}

const cores = availableParallelism()
const taskset = existsSync('/usr/bin/taskset') || existsSync('/bin/taskset')

/**
 * Knobs, all from the environment so that `npm run bench -- <scenario>` stays the whole CLI.
 * The defaults keep the full suite under ten minutes on two cores.
 */
export const settings = {
  /** A/B rounds per comparison; the issue asks for a median of at least 5. */
  rounds: int('BENCH_ROUNDS', 5, 1),
  /** Seconds of load per side per round in throughput comparisons. */
  roundSeconds: int('BENCH_ROUND_SECONDS', 2, 0.5),
  /** Unmeasured load before each round, after the side's processes are resumed. */
  warmupSeconds: int('BENCH_WARMUP_SECONDS', 0.5, 0),
  wsClients: int('BENCH_WS_CLIENTS', 1000, 1),
  pageDepth: int('BENCH_PAGE_DEPTH', 100_000, 100),
  soakMinutes: int('SOAK_MINUTES', 10, 0.1),
  /** Seconds a started service sits idle before `startup` reads its RSS. */
  idleSeconds: int('BENCH_IDLE_SECONDS', 30, 0),
  databaseUrl: process.env.DATABASE_URL || undefined,
  redisUrl: process.env.REDIS_URL || undefined,
  /** Servers on one core, the load generator (and this orchestrator) on another. */
  pinning: taskset && cores >= 2,
  serverCpus: process.env.BENCH_SERVER_CPUS || '0',
  loaderCpus: process.env.BENCH_LOADER_CPUS || '1',
  cores,
  /** Keep server logs and temp dirs after the run (they are deleted otherwise). */
  keep: process.env.BENCH_KEEP === '1',
}

export type Settings = typeof settings
