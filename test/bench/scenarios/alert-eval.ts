import { AsyncLocalStorage } from 'node:async_hooks'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import type { AlertRule } from '../../../alerts/rule.js'
import { buildApp } from '../../../server/app.js'
import { loadConfig } from '../../../server/config.js'
import type { Snapshot } from '../../../server/metrics/snapshot.js'
import { compare, log, rotate, pairs, type Side } from '../lib/ab.js'
import { row, type Row } from '../lib/report.js'
import type { Scenario } from '../lib/scenario.js'
import { settings } from '../lib/settings.js'
import { median } from '../lib/stats.js'

const RULES = 1000
const SIGNALS = 20
const SERIES_PER_SIGNAL = 10
const TICKS_PER_ROUND = 30
/** One rule in this many holds: its ten series stay firing, so states are in memory and steady. */
const FIRING_EVERY = 20

interface TickFigures {
  /** Median over the round's ticks. */
  eventLoopMs: number
  wallMs: number
  queries: number
}

/** 200 series: 20 signals × 10 instances, each with a fixed value. */
function snapshotAt(at: number): Snapshot {
  const signals = []
  for (let s = 0; s < SIGNALS; s++)
    for (let i = 0; i < SERIES_PER_SIGNAL; i++)
      signals.push({ name: `bench_signal_${s}`, labels: { instance: `i${i}` }, value: 50 })
  return { at, instance: 'bench', signals }
}

/** 1,000 rules, 50 per signal; one in FIRING_EVERY holds (threshold below the value). */
function benchRules(): AlertRule[] {
  return Array.from({ length: RULES }, (_, i) => ({
    name: `BenchRule${String(i).padStart(4, '0')}`,
    signal: `bench_signal_${i % SIGNALS}`,
    op: '>' as const,
    threshold: i % FIRING_EVERY === 0 ? 10 : 100 + i,
    severity: (i % 3 === 0 ? 'critical' : 'warning') as AlertRule['severity'],
    for: '0s',
    keepFiringFor: '0s',
    repeatInterval: '4h',
    labels: { team: `t${i % 7}` },
    annotations: { summary: '{{ $labels.instance }} at {{ $value }}' },
    matchers: {},
    enabled: true,
  }))
}

async function startApp(name: string, databaseUrl: string | undefined) {
  const dataDir = mkdtempSync(join(tmpdir(), `ccp-bench-${name}-`))
  const schema = `bench_alert_eval_${process.pid}`
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    DATABASE_SCHEMA: databaseUrl ? schema : 'public',
    CACHE_PREFIX: `ccp-bench:alert-eval:${process.pid}:`,
    MAX_EVENT_LOOP_DELAY_MS: '0',
    SAMPLE_INTERVAL_MS: '60000',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  })
  const app = await buildApp(config, { pgliteDataDir: databaseUrl ? undefined : 'memory://' })
  return {
    app,
    async stop() {
      await app.close()
      rmSync(dataDir, { recursive: true, force: true })
      if (!databaseUrl) return
      const client = new pg.Client({ connectionString: databaseUrl })
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end())
    },
  }
}

const observed = new AsyncLocalStorage<object>()

/**
 * One side: TICKS_PER_ROUND evaluations through the evaluator's queue, each timed for
 * event-loop time (eventLoopUtilization's active time: CPU on the loop, PGlite's included,
 * waiting on a Postgres socket not) and wall time, and its queries counted. `reloadFirst`
 * reads the working set from the database before each tick: what every tick did before the
 * evaluator kept it in memory.
 */
function tickSide(app: FastifyInstance, label: string, reloadFirst: boolean, clock: { at: number }): Side<TickFigures> {
  const { evaluator } = app.alerts
  return {
    label,
    procs: [],
    async measure() {
      const eventLoop: number[] = []
      const wall: number[] = []
      const queries: number[] = []
      for (let i = 0; i < TICKS_PER_ROUND; i++) {
        await evaluator.idle()
        const snapshot = snapshotAt((clock.at += 1000))
        const marker = {}
        let count = 0
        const listener = () => {
          if (observed.getStore() === marker) count++
        }
        app.database.queryListeners.add(listener)
        const elu = performance.eventLoopUtilization()
        const started = performance.now()
        await observed.run(marker, async () => {
          if (reloadFirst) await evaluator.reload()
          evaluator.onSnapshot(snapshot)
          await evaluator.idle()
        })
        wall.push(performance.now() - started)
        eventLoop.push(performance.eventLoopUtilization(elu).active)
        app.database.queryListeners.delete(listener)
        queries.push(count)
      }
      return { eventLoopMs: median(eventLoop), wallMs: median(wall), queries: median(queries) }
    },
  }
}

async function measureOn(backend: string, databaseUrl: string | undefined) {
  log(`  ${backend}: 1,000 rules, 200 series`)
  const service = await startApp(backend.toLowerCase().replace(/\W+/g, '-'), databaseUrl)
  try {
    const { app } = service
    for (const rule of benchRules()) await app.alerts.rules.create(rule)
    await app.alerts.evaluator.reload()
    const clock = { at: Date.now() }
    // The first ticks write the firing states; from then on the values hold and nothing changes.
    for (let i = 0; i < 3; i++) {
      app.alerts.evaluator.onSnapshot(snapshotAt((clock.at += 1000)))
      await app.alerts.evaluator.idle()
    }
    const firing = app.alerts.evaluator.workingSet()?.states.length ?? 0
    log(`    ${firing} alerts firing, steady`)
    const rounds = await rotate(
      [tickSide(app, 'in memory', false, clock), tickSide(app, 'database reads', true, clock)],
      {
        describe: (m) => `${m.eventLoopMs.toFixed(2)} ms loop, ${m.wallMs.toFixed(2)} ms wall, ${m.queries} queries`,
      },
    )
    const paired = pairs(rounds, 0, 1)
    const loop = compare(paired, (m) => m.eventLoopMs)
    const wall = compare(paired, (m) => m.wallMs)
    const queries = compare(paired, (m) => m.queries)
    const rows: Row[] = [
      row(`${backend}: event-loop time per tick`, 'ms', loop.ours, loop.peer, loop.ratio, {
        op: '<=',
        value: 20,
        on: 'ours',
      }),
      row(`${backend}: wall time per tick`, 'ms', wall.ours, wall.peer, wall.ratio, null),
      row(`${backend}: database queries per tick`, '', queries.ours, queries.peer, null, {
        op: '<=',
        value: 0,
        on: 'ours',
      }),
    ]
    return { rows, rounds, firing }
  } finally {
    await service.stop()
  }
}

/**
 * One evaluation tick of 1,000 rules over 200 series on the leader: from the working set in
 * memory against the same tick preceded by reading rules, silences and states from the
 * database (how every tick ran before). Measured in this process, on PGlite and, with
 * DATABASE_URL, on Postgres.
 */
export const alertEval: Scenario = {
  id: 'alert-eval',
  title: 'alert evaluation tick',
  ours: `one tick, ${RULES.toLocaleString('en-US')} rules over ${SIGNALS * SERIES_PER_SIGNAL} series, from memory`,
  peer: 'the same tick reading rules, silences and states from the database first',
  estimateSeconds: 60,
  inSuite: true,
  async run() {
    const backends: Array<[string, string | undefined]> = [['PGlite', undefined]]
    if (settings.databaseUrl) backends.push(['Postgres', settings.databaseUrl])
    const results = []
    for (const [name, url] of backends) results.push({ backend: name, ...(await measureOn(name, url)) })
    return {
      rows: results.flatMap((r) => r.rows),
      notes: [
        `Median over ${TICKS_PER_ROUND} ticks per round, ${settings.rounds} alternating rounds; ${results[0]!.firing} alerts firing throughout (values steady, so a tick from memory writes nothing).`,
        'Event-loop time: active time of performance.eventLoopUtilization() across the tick (PGlite runs on the loop; a Postgres socket wait does not count).',
        ...(settings.databaseUrl ? [] : ['Postgres: skipped (DATABASE_URL unset).']),
      ],
      rounds: Object.fromEntries(results.map((r) => [r.backend, r.rounds])),
    }
  },
}
