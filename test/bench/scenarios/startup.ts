import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { compare, log, pairs } from '../lib/ab.js'
import { deferCleanup, freePort, processTree, readRss, startProc, type Proc } from '../lib/procs.js'
import { row, type Row } from '../lib/report.js'
import type { Scenario } from '../lib/scenario.js'
import { dropData, serviceData, serviceEnv, type ServiceData } from '../lib/service.js'
import { ROOT, settings } from '../lib/settings.js'
import { median } from '../lib/stats.js'

const MiB = 1024 * 1024
const COMPILED_ENTRY = join(ROOT, 'dist/server/main.js')
const TSX_CLI = join(ROOT, 'node_modules/tsx/dist/cli.mjs')
const IDLE_SECONDS = settings.idleSeconds

type Build = 'compiled' | 'tsx'
type Backend = 'postgres' | 'pglite'

interface Side {
  build: Build
  backend: Backend
  label: string
  data: ServiceData
}

interface Start {
  readyMs: number
  /** CPU time (user + system) the process tree had used when it was ready: less moved by a busy machine than readyMs. */
  cpuMs: number
  /** RSS of the process that serves (for tsx: its child node process, not the CLI wrapper). */
  serverRss: number
  /** RSS of the whole process tree (for tsx: the CLI wrapper and the server). */
  treeRss: number
}

function command(build: Build): string[] {
  // `node dist/server/main.js` is what `npm start` runs; `tsx server/main.ts` is the tsx CLI,
  // which runs the server in a child node process with its loader.
  return build === 'compiled' ? ['node', COMPILED_ENTRY] : [process.execPath, TSX_CLI, 'server/main.ts']
}

/** Starts one side on its (already migrated, unless first) data and returns once /health/ready is 200. */
async function start(side: Side): Promise<Proc> {
  const port = await freePort()
  const proc = await startProc({
    name: `startup-${side.label}`,
    command: command(side.build),
    env: serviceEnv(`startup-${side.build}`, side.data, port),
    port,
    readyPath: '/health/ready',
    readyPollMs: 5,
    idle: 'park',
    timeoutMs: 120_000,
  })
  return proc
}

/** The serving process: the deepest of the tree (the tsx CLI's child; the process itself otherwise). */
function serverPid(proc: Proc): number {
  const tree = processTree(proc.pid)
  return tree[tree.length - 1]!
}

/** RSS read three times half a second apart, median: a collection in the middle does not decide the figure. */
async function idleRss(proc: Proc): Promise<{ serverRss: number; treeRss: number }> {
  const server: number[] = []
  const tree: number[] = []
  for (let i = 0; i < 3; i++) {
    if (i) await sleep(500)
    server.push(readRss(serverPid(proc)))
    tree.push(processTree(proc.pid).reduce((sum, pid) => sum + readRss(pid), 0))
  }
  return { serverRss: median(server), treeRss: median(tree) }
}

const ms = (proc: Proc) => proc.readyAt! - proc.startedAt

/** utime + stime of the tree, in ms (clock ticks of 10 ms). */
function cpuMs(proc: Proc): number {
  let ticks = 0
  for (const pid of processTree(proc.pid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // gone
    }
  }
  return ticks * 10
}

/**
 * Start-up: process start to the first 200 from GET /health/ready, and RSS after
 * BENCH_IDLE_SECONDS idle, for the compiled build vs the tsx CLI, on the real Postgres and
 * Redis (when configured) and on embedded PGlite. Each side is started once unmeasured (its
 * schema is created and migrated then), then restarted once per round on the same data: the
 * figure is a restart, as a deploy does it. Within a round the sides start one after the other
 * (order rotating), the ones already up parked on the load generator's CPU, and each is read
 * after its own idle time.
 */
export const startup: Scenario = {
  id: 'startup',
  title: 'start-up',
  ours: 'compiled build, `node dist/server/main.js`',
  peer: '`tsx server/main.ts` (RSS: its server process; the tree is shown beside)',
  estimateSeconds: 60 + settings.rounds * (IDLE_SECONDS + 20),
  inSuite: false,
  async run() {
    if (!existsSync(COMPILED_ENTRY)) throw new Error('dist/server/main.js is missing: run `npm run build` first')
    const backends: Backend[] = settings.databaseUrl ? ['postgres', 'pglite'] : ['pglite']
    const sides: Side[] = backends.flatMap((backend) =>
      (['compiled', 'tsx'] as const).map((build) => {
        const data = serviceData(`startup_${build}_${backend}`, backend === 'postgres')
        deferCleanup(() => dropData(data))
        return { build, backend, label: `${build}/${backend}`, data }
      }),
    )
    // First start of each side: creates the schema and runs every migration. Reported, not compared.
    const firstStart = new Map<Side, number>()
    for (const side of sides) {
      const proc = await start(side)
      firstStart.set(side, ms(proc))
      await proc.stop()
    }
    log(`    first starts: ${sides.map((s) => `${s.label} ${firstStart.get(s)!.toFixed(0)} ms`).join(' | ')}`)

    const rounds: Start[][] = []
    for (let i = 0; i < settings.rounds; i++) {
      const procs = new Map<Side, Proc>()
      const cpu = new Map<Side, number>()
      try {
        for (let k = 0; k < sides.length; k++) {
          const side = sides[(i + k) % sides.length]!
          for (const p of procs.values()) p.freeze()
          const proc = await start(side)
          cpu.set(side, cpuMs(proc))
          procs.set(side, proc)
        }
        for (const p of procs.values()) p.thaw()
        const round: Start[] = new Array(sides.length)
        const byReady = [...procs].sort((a, b) => a[1].readyAt! - b[1].readyAt!)
        for (const [side, proc] of byReady) {
          const wait = proc.readyAt! + IDLE_SECONDS * 1000 - performance.now()
          if (wait > 0) await sleep(wait)
          round[sides.indexOf(side)] = { readyMs: ms(proc), cpuMs: cpu.get(side)!, ...(await idleRss(proc)) }
        }
        rounds.push(round)
        log(
          `    round ${i + 1}/${settings.rounds}: ${sides
            .map(
              (s, k) => `${s.label} ${round[k]!.readyMs.toFixed(0)} ms ${(round[k]!.serverRss / MiB).toFixed(0)} MiB`,
            )
            .join(' | ')}`,
        )
      } finally {
        await Promise.all([...procs.values()].map((p) => p.stop()))
      }
    }

    const rows: Row[] = []
    for (const backend of backends) {
      const ours = sides.findIndex((s) => s.backend === backend && s.build === 'compiled')
      const peer = sides.findIndex((s) => s.backend === backend && s.build === 'tsx')
      const paired = pairs(rounds, ours, peer)
      const on = backend === 'postgres' ? 'Postgres + Redis' : 'PGlite, no Redis'
      const real = backend === 'postgres'
      const ready = compare(paired, (r) => r.readyMs)
      const cpuTime = compare(paired, (r) => r.cpuMs)
      const rss = compare(paired, (r) => r.serverRss / MiB)
      const tree = compare(paired, (r) => r.treeRss / MiB)
      rows.push(
        row(
          `ready, ${on}`,
          'ms',
          ready.ours,
          ready.peer,
          ready.ratio,
          real ? { op: '<=', value: 1000, on: 'ours' } : null,
        ),
        row(`CPU time to ready, ${on}`, 'ms', cpuTime.ours, cpuTime.peer, cpuTime.ratio, null, 'user + system'),
        row(
          `RSS after ${IDLE_SECONDS} s idle, ${on}`,
          'MiB',
          rss.ours,
          rss.peer,
          rss.ratio,
          real ? { op: '<=', value: 120, on: 'ours' } : null,
        ),
        row(`RSS of the process tree, ${on}`, 'MiB', tree.ours, tree.peer, tree.ratio, null),
        row(
          `first start (empty schema, migrations), ${on}`,
          'ms',
          firstStart.get(sides[ours]!)!,
          firstStart.get(sides[peer]!)!,
          null,
          null,
          'one run',
        ),
      )
    }
    return {
      rows,
      notes: [
        'ready = spawn to the first 200 from GET /health/ready (polled every 5 ms); a restart on a migrated schema / PGlite data dir',
        ...(settings.databaseUrl ? [] : ['DATABASE_URL unset: PGlite only (the goals are for the real Postgres)']),
        'the first side started also warms the page cache for the others: first starts are one run each, reported only',
      ],
      rounds,
    }
  },
}
