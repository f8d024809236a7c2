import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** The project root: processes run from here, as `npm start` would. */
export const REPO_ROOT = resolve(import.meta.dirname, '../..')

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Resolves once GET `url` answers 2xx (false on any error, including a slow answer). */
export async function answersOk(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    async (r) => {
      await r.body?.cancel()
      return r.ok
    },
    () => false,
  )
}

export interface ProcessOptions {
  /** Names the process in errors. */
  name: string
  /** The executable and its arguments. */
  argv: string[]
  /** Set over this process's environment. */
  env?: Record<string, string>
  cwd?: string
  /** Append the output to this file instead of keeping it in memory (a long run's log can reach a gigabyte). */
  logFile?: string
  /** Open an IPC channel (the process must be a Node process). */
  ipc?: boolean
  /** Ready once GET readyUrl answers 2xx; without it, as soon as it is spawned. */
  readyUrl?: string
  timeoutMs?: number
  pollMs?: number
}

export interface RunningProcess {
  name: string
  child: ChildProcess
  /** Its exit code; null when a signal ended it. */
  exited: Promise<number | null>
  /** What it wrote to stdout and stderr (the last `bytes` of it when given). */
  output(bytes?: number): string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>
}

/** Spawns a process, collects its output, and waits until it answers on `readyUrl`. */
export async function startProcess(options: ProcessOptions): Promise<RunningProcess> {
  const [command, ...args] = options.argv
  const fd = options.logFile ? openSync(options.logFile, 'a') : undefined
  const out = fd ?? 'pipe'
  const child = spawn(command!, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: options.ipc ? ['ignore', out, out, 'ipc'] : ['ignore', out, out],
  })
  if (fd !== undefined) closeSync(fd)
  let collected = ''
  child.stdout?.on('data', (d) => (collected += d))
  child.stderr?.on('data', (d) => (collected += d))
  child.on('error', (err) => (collected += `\nspawn failed: ${err.message}`))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const output = (bytes?: number) => {
    if (!options.logFile) return bytes === undefined ? collected : collected.slice(-bytes)
    return tailOfFile(options.logFile, bytes ?? 4000)
  }
  const proc: RunningProcess = {
    name: options.name,
    child,
    exited,
    output,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)])
      if (!done) {
        child.kill('SIGKILL')
        await exited
      }
    },
  }
  if (options.readyUrl === undefined) return proc
  const timeoutMs = options.timeoutMs ?? 60_000
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode}:\n${output()}`)
    if (await answersOk(options.readyUrl)) return proc
    await sleep(options.pollMs ?? 150)
  }
  await proc.stop(1_000)
  throw new Error(`${options.name} was not ready within ${timeoutMs} ms:\n${output()}`)
}

/** The end of a file, without reading all of it. */
export function tailOfFile(file: string, bytes: number): string {
  try {
    const size = statSync(file).size
    const length = Math.min(bytes, size)
    const buffer = Buffer.alloc(length)
    const fd = openSync(file, 'r')
    try {
      readSync(fd, buffer, 0, length, size - length)
    } finally {
      closeSync(fd)
    }
    return buffer.toString('utf8')
  } catch {
    return ''
  }
}

/** Node arguments that run the service from source, as `npm run dev` does (`preload`: extra --import modules). */
export function serviceArgv(preload: string[] = []): string[] {
  return [process.execPath, '--import', 'tsx', ...preload.flatMap((p) => ['--import', p]), 'server/main.ts']
}

export interface ServiceProcess extends RunningProcess {
  port: number
  url: string
}

/**
 * Starts `server/main.ts` as a real process on a free port and waits until /health/ready
 * answers. `env` is set over this process's environment (LOG_LEVEL defaults to info).
 */
export async function startService(
  env: Record<string, string>,
  options: Partial<Pick<ProcessOptions, 'timeoutMs' | 'logFile' | 'ipc' | 'name'>> & {
    preload?: string[]
    /** Wraps the command (CPU pinning: `['taskset', '-c', '0']`). */
    prefix?: string[]
  } = {},
): Promise<ServiceProcess> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const proc = await startProcess({
    name: options.name ?? 'service',
    argv: [...(options.prefix ?? []), ...serviceArgv(options.preload)],
    env: { LOG_LEVEL: 'info', ...env, HOST: '127.0.0.1', PORT: String(port) },
    logFile: options.logFile,
    ipc: options.ipc,
    readyUrl: `${url}/health/ready`,
    timeoutMs: options.timeoutMs ?? 60_000,
    pollMs: 200,
  })
  return { ...proc, port, url }
}

/** `pid` and its descendants (a wrapper such as the tsx CLI runs the server as its child), parents first. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // The command name in parentheses may hold spaces; the parent pid is the second field after it.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
    } catch {
      // gone meanwhile
    }
  }
  const tree: number[] = []
  const visit = (p: number) => {
    tree.push(p)
    for (const c of children.get(p) ?? []) visit(c)
  }
  visit(pid)
  return tree
}
