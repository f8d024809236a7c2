import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort, processTree, tailOfFile } from '../../helpers/process.js'
import { ROOT, settings } from './settings.js'

/** Scratch space of this run: process logs, data dirs, config files. Removed at exit unless BENCH_KEEP=1. */
export const RUN_DIR = mkdtempSync(join(tmpdir(), 'ccp-bench-'))

export { freePort, processTree }

export interface ProcOptions {
  name: string
  /** Executable and arguments; `node` means this Node binary (with tsx loaded for .ts files). */
  command: string[]
  env?: Record<string, string>
  /** Which CPUs to pin to (taskset -c); default: the server CPUs. 'none' = unpinned. */
  cpus?: string
  /** Open an IPC channel (the process must be a Node process). */
  ipc?: boolean
  /**
   * How the process idles while another side is measured: 'freeze' (SIGSTOP; for simple
   * peers) or 'park' (moved to the load generator's CPU: for the service, whose timers,
   * load shedding and leases must not see a stopped clock).
   */
  idle?: 'freeze' | 'park'
  /** Ready when GET `${url}${readyPath}` answers 200; without it, when the process has started. */
  port?: number
  readyPath?: string
  /** How often to ask readyPath while starting (ms; default 150). */
  readyPollMs?: number
  timeoutMs?: number
}

export interface Proc {
  name: string
  pid: number
  port: number
  url: string
  child: ChildProcess
  logFile: string
  /** performance.now() just before the spawn, and when readyPath first answered 200. */
  startedAt: number
  readyAt: number | undefined
  /** While the other side of a comparison is measured, take no CPU from it (see ProcOptions.idle). */
  freeze(): void
  thaw(): void
  rssBytes(): number
  /** The last lines of the process's output. */
  tail(bytes?: number): string
  stop(): Promise<void>
  exited: Promise<number | null>
}

const running = new Set<Proc>()

function nodeCommand(command: string[]): string[] {
  if (command[0] !== 'node') return command
  const rest = command.slice(1)
  const script = rest.find((a) => !a.startsWith('-'))
  const needsTsx = script?.endsWith('.ts') && !rest.includes('tsx')
  return [process.execPath, ...(needsTsx ? ['--import', 'tsx'] : []), ...rest]
}

export function readRss(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1]
    return kb ? Number(kb) * 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}

/** Moves every thread of a running process and of its descendants to `cpus`. */
function pin(pid: number | undefined, cpus: string): void {
  if (!settings.pinning || pid === undefined || cpus === 'none') return
  for (const p of processTree(pid)) {
    try {
      execFileSync('taskset', ['-a', '-p', '-c', cpus, String(p)], { stdio: 'ignore' })
    } catch {
      // the process is gone
    }
  }
}

/** Starts a process pinned to its CPUs, its output in a log file (never a pipe this process must drain). */
export async function startProc(options: ProcOptions): Promise<Proc> {
  const logFile = join(RUN_DIR, `${options.name.replace(/[^\w.-]+/g, '_')}-${Date.now()}.log`)
  const fd = openSync(logFile, 'a')
  const cpus = options.cpus ?? settings.serverCpus
  let argv = nodeCommand(options.command)
  if (settings.pinning && cpus !== 'none') argv = ['taskset', '-c', cpus, ...argv]
  const startedAt = performance.now()
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: options.ipc ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
  })
  closeSync(fd)
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))),
  )
  child.on('error', () => {})
  const port = options.port ?? 0
  const url = `http://127.0.0.1:${port}`
  // Only the end: a soak's log runs to a gigabyte.
  const tail = (bytes = 4000) => tailOfFile(logFile, bytes)
  const proc: Proc = {
    name: options.name,
    pid: child.pid ?? -1,
    port,
    url,
    child,
    logFile,
    startedAt,
    readyAt: undefined,
    exited,
    freeze() {
      if (child.exitCode !== null) return
      if (options.idle === 'park') pin(child.pid, settings.loaderCpus)
      else child.kill('SIGSTOP')
    },
    thaw() {
      if (child.exitCode !== null) return
      if (options.idle === 'park') pin(child.pid, cpus)
      else child.kill('SIGCONT')
    },
    rssBytes: () => readRss(child.pid ?? -1),
    tail,
    async stop() {
      running.delete(proc)
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGCONT')
      const tree = child.pid === undefined ? [] : processTree(child.pid)
      child.kill('SIGTERM')
      const done = await Promise.race([exited.then(() => true), sleep(8_000).then(() => false)])
      if (!done) {
        // A wrapper's children too: an orphaned server would keep its port and its CPU.
        for (const p of tree.reverse()) {
          try {
            process.kill(p, 'SIGKILL')
          } catch {
            // gone
          }
        }
        await exited
      }
    },
  }
  running.add(proc)
  if (options.readyPath === undefined) return proc
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      running.delete(proc)
      throw new Error(`${options.name} exited with ${child.exitCode} while starting:\n${tail()}`)
    }
    const ok = await fetch(`${url}${options.readyPath}`, { signal: AbortSignal.timeout(2_000) }).then(
      async (r) => {
        await r.body?.cancel()
        return r.ok
      },
      () => false,
    )
    if (ok) {
      proc.readyAt = performance.now()
      return proc
    }
    await sleep(options.readyPollMs ?? 150)
  }
  await proc.stop()
  throw new Error(`${options.name} was not ready within ${options.timeoutMs ?? 60_000} ms:\n${tail()}`)
}

/** Stops everything still running (normal end, failure, Ctrl-C). */
export async function stopAll(): Promise<void> {
  await runCleanups()
  await Promise.all([...running].map((p) => p.stop().catch(() => {})))
}

const cleanups = new Set<() => Promise<void>>()

/** Registers work that must happen even when a scenario fails (drop a schema); returns the unregister. */
export function deferCleanup(fn: () => Promise<void>): () => void {
  cleanups.add(fn)
  return () => void cleanups.delete(fn)
}

/** Runs the cleanups registered since `kept` was taken (all of them without it). */
export async function runCleanups(kept: Set<() => Promise<void>> = new Set()): Promise<void> {
  const all = [...cleanups].filter((fn) => !kept.has(fn)).reverse()
  for (const fn of all) cleanups.delete(fn)
  for (const fn of all) await fn().catch((err: unknown) => process.stderr.write(`cleanup failed: ${String(err)}\n`))
}

/** The cleanups registered so far: a scenario's own are the ones added after this. */
export function cleanupMark(): Set<() => Promise<void>> {
  return new Set(cleanups)
}

/** Processes started since `before` (a scenario's own), to stop when it ends however it ends. */
export function runningProcs(): Set<Proc> {
  return new Set(running)
}

export function removeRunDir(): void {
  if (!settings.keep) rmSync(RUN_DIR, { recursive: true, force: true })
}

/** Pins this process (the orchestrator) with the load generator, away from the servers. */
export function pinSelf(): void {
  if (!settings.pinning) return
  const child = spawn('taskset', ['-a', '-p', '-c', settings.loaderCpus, String(process.pid)], { stdio: 'ignore' })
  child.on('error', () => {})
}
