import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startProcess, type RunningProcess } from '../../helpers/process.js'
import { ROOT, settings } from './settings.js'

export { freePort } from '../../helpers/process.js'

/** Scratch space of this run: process logs, data dirs, config files. Removed at exit unless BENCH_KEEP=1. */
export const RUN_DIR = mkdtempSync(join(tmpdir(), 'ccp-bench-'))

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
  timeoutMs?: number
}

export interface Proc {
  name: string
  pid: number
  port: number
  url: string
  child: ChildProcess
  logFile: string
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

/** Moves every thread of a running process to `cpus`. */
function pin(pid: number | undefined, cpus: string): void {
  if (!settings.pinning || pid === undefined || cpus === 'none') return
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
  } catch {
    // the process is gone
  }
}

/** The command prefix that pins a process to `cpus` (none when pinning is off). */
export function pinning(cpus: string = settings.serverCpus): string[] {
  return settings.pinning && cpus !== 'none' ? ['taskset', '-c', cpus] : []
}

export function logFileFor(name: string): string {
  return join(RUN_DIR, `${name.replace(/[^\w.-]+/g, '_')}-${Date.now()}.log`)
}

/**
 * Wraps a started process (test/helpers/process.ts) with what the bench needs: freezing or
 * parking while the other side is measured, RSS, and a stop that also wakes a frozen one.
 */
export function benchProc(
  started: RunningProcess,
  options: { port: number; logFile: string; cpus?: string; idle?: 'freeze' | 'park' },
): Proc {
  const { child } = started
  const cpus = options.cpus ?? settings.serverCpus
  const proc: Proc = {
    name: started.name,
    pid: child.pid ?? -1,
    port: options.port,
    url: `http://127.0.0.1:${options.port}`,
    child,
    logFile: options.logFile,
    exited: started.exited,
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
    tail: (bytes) => started.output(bytes),
    async stop() {
      running.delete(proc)
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGCONT')
      await started.stop(8_000)
    },
  }
  running.add(proc)
  return proc
}

/** Starts a process pinned to its CPUs, its output in a log file (never a pipe this process must drain). */
export async function startProc(options: ProcOptions): Promise<Proc> {
  const logFile = logFileFor(options.name)
  const port = options.port ?? 0
  const started = await startProcess({
    name: options.name,
    argv: [...pinning(options.cpus), ...nodeCommand(options.command)],
    cwd: ROOT,
    env: options.env,
    logFile,
    ipc: options.ipc,
    readyUrl: options.readyPath === undefined ? undefined : `http://127.0.0.1:${port}${options.readyPath}`,
    timeoutMs: options.timeoutMs,
  })
  return benchProc(started, { port, logFile, cpus: options.cpus, idle: options.idle })
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
