/**
 * `npm run bench` runs every scenario; `npm run bench -- <scenario> [...]` runs some
 * (`npm run bench -- list` names them). Each figure is a ratio against a peer measured in the
 * same run, in alternating rounds; tables are printed (markdown) and written as JSON under
 * test/bench/results/. Knobs: test/bench/README.md.
 */
import { loadavg } from 'node:os'
import { log } from './lib/ab.js'
import { Loader } from './lib/loader.js'
import { cleanupMark, pinSelf, removeRunDir, runCleanups, runningProcs, stopAll } from './lib/procs.js'
import {
  describeMachine,
  machineLine,
  scenarioTable,
  summaryTable,
  writeResults,
  type ScenarioResult,
} from './lib/report.js'
import type { Scenario } from './lib/scenario.js'
import { settings } from './lib/settings.js'
import { scenarios } from './scenarios/index.js'

const SUITE_BUDGET_SECONDS = 600

function select(args: string[]): Scenario[] {
  const wanted = args.filter((a) => !a.startsWith('-'))
  if (wanted.length === 0) return scenarios.filter((s) => s.inSuite)
  const unknown = wanted.filter((w) => !scenarios.some((s) => s.id === w))
  if (unknown.length) {
    console.error(`unknown scenario ${unknown.join(', ')}; one of: ${scenarios.map((s) => s.id).join(', ')}`)
    process.exit(2)
  }
  return scenarios.filter((s) => wanted.includes(s.id))
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  if (args[0] === 'list') {
    for (const s of scenarios) {
      const note =
        s.id === 'memory'
          ? ' (the suite gets this table from websocket)'
          : s.inSuite
            ? ''
            : ' (not in the default suite)'
      console.log(`${s.id.padEnd(18)} ${s.title}${note}`)
    }
    return
  }
  const selected = select(args)
  pinSelf()
  const startedAt = new Date().toISOString()
  const machine = describeMachine()
  const estimate = selected.reduce((n, s) => n + s.estimateSeconds, 0)
  log(`bench: ${selected.map((s) => s.id).join(', ')} (about ${Math.round(estimate / 60)} min)`)
  log(`machine: ${machineLine(machine)}`)
  log(
    `rounds ${settings.rounds}, ${settings.roundSeconds} s per side per round; Postgres ${settings.databaseUrl ? 'real' : 'embedded PGlite'}, Redis ${settings.redisUrl ? 'real' : 'none'}`,
  )
  if (settings.rounds < 5)
    log(`warning: BENCH_ROUNDS=${settings.rounds}; the goals are judged on a median of at least 5`)

  const started = Date.now()
  const loader = await Loader.start()
  const context = { loader }
  const results: ScenarioResult[] = []
  const beginErrors = new Map<Scenario, unknown>()
  // Scenarios with a waiting phase start it first and finish last.
  for (const s of selected) {
    if (!s.begin) continue
    log(`\n▶ ${s.id}: first phase (finishes at the end)`)
    await s.begin(context).catch((err: unknown) => beginErrors.set(s, err))
  }
  const order = [...selected.filter((s) => !s.begin), ...selected.filter((s) => s.begin)]
  for (const s of order) {
    log(`\n▶ ${s.id}: ${s.title}`)
    const t0 = Date.now()
    const loadAtStart = loadavg()[0]!
    const before = runningProcs()
    const kept = cleanupMark()
    let result: ScenarioResult
    try {
      if (beginErrors.has(s)) throw beginErrors.get(s)
      const outcome = await s.run(context)
      result = {
        id: s.id,
        title: s.title,
        ...outcome,
        ours: outcome.ours || s.ours,
        peer: outcome.peer || s.peer,
        seconds: (Date.now() - t0) / 1000,
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      log(`  ✗ ${s.id} failed: ${message}`)
      result = {
        id: s.id,
        title: s.title,
        ours: s.ours,
        peer: s.peer,
        rows: [],
        notes: [],
        error: message.split('\n')[0]!,
        seconds: (Date.now() - t0) / 1000,
      }
    }
    await runCleanups(kept)
    for (const p of runningProcs()) if (!before.has(p) && p !== loader.proc) await p.stop()
    // How busy the machine was around this scenario (1-minute load average, start and end).
    result.loadAverage = [loadAtStart, loadavg()[0]!].map((v) => Math.round(v * 100) / 100)
    log(`  load average ${result.loadAverage.join(' → ')}`)
    for (const r of [result, ...(result.also ?? []).map((a) => ({ ...a, seconds: 0 }))]) {
      results.push({ ...r, also: undefined })
      console.log(`\n${scenarioTable(r)}`)
    }
    log(`  (${result.seconds.toFixed(0)} s)`)
  }
  await loader.stop()

  const seconds = (Date.now() - started) / 1000
  machine.loadAverage.end = loadavg().map((v) => Math.round(v * 100) / 100)
  const file = writeResults({
    startedAt,
    machine,
    settings: { ...settings, databaseUrl: !!settings.databaseUrl, redisUrl: !!settings.redisUrl, seconds },
    scenarios: results,
  })
  console.log(`\n## Summary\n\n${summaryTable(results)}\n\nMachine: ${machineLine(machine)}\n`)
  const budget =
    selected.every((s) => s.inSuite) && selected.length > 1 && seconds > SUITE_BUDGET_SECONDS
      ? ` — over the ${SUITE_BUDGET_SECONDS} s budget`
      : ''
  log(`${seconds.toFixed(0)} s${budget}; results in ${file}`)
}

let exiting = false
async function shutdown(code: number): Promise<never> {
  if (!exiting) {
    exiting = true
    await stopAll()
    removeRunDir()
  }
  process.exit(code)
}
process.on('SIGINT', () => void shutdown(130))
process.on('SIGTERM', () => void shutdown(143))

main().then(
  () => shutdown(0),
  (err: unknown) => {
    console.error(err)
    return shutdown(1)
  },
)
