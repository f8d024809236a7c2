import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './process.js'

/** The newest `/usr/lib/postgresql/<major>/bin` on this machine, or null. */
function findPostgresBin(): string | null {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  const majors = readdirSync(root)
    .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))
  return majors.length > 0 ? join(root, majors[0]!, 'bin') : null
}

const execFileAsync = promisify(execFile)
const POSTGRES_BIN = findPostgresBin()
/** initdb refuses to run as root, so the cluster belongs to the `postgres` OS user when we are root. */
const RUN_AS = process.getuid?.() === 0 ? 'postgres' : null

/** Whether this machine can create a disposable Postgres cluster (Debian's postgresql package). */
export const hasPostgresBinaries =
  POSTGRES_BIN !== null && (RUN_AS === null || spawnSync('id', ['-u', RUN_AS], { stdio: 'ignore' }).status === 0)

/**
 * A Postgres cluster of the test's own (initdb in a temporary directory, a free port, trust auth),
 * so a test can stop and start it without touching the shared server. Stop it with `stop()`
 * (a fast or an immediate shutdown: open connections are cut, as when the server goes away), start it again on
 * the same port and data with `start()`, and remove it with `destroy()`.
 */
export class DisposablePostgres {
  private running = false

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async create(): Promise<DisposablePostgres> {
    if (!POSTGRES_BIN) throw new Error('no Postgres binaries under /usr/lib/postgresql/*/bin')
    const dir = mkdtempSync(join(tmpdir(), 'ccp-pg-'))
    if (RUN_AS) execFileSync('chown', [RUN_AS, dir])
    const cluster = new DisposablePostgres(await freePort(), dir)
    await cluster.run('initdb', ['-D', cluster.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'])
    await cluster.start()
    return cluster
  }

  get dataDir(): string {
    return join(this.dir, 'data')
  }

  /** A connection string to the `postgres` database as the `postgres` superuser. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`
  }

  /** Starts the server (again) and resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.running) throw new Error('the cluster is already running')
    // fsync off: a test cluster need not survive a power cut, and it keeps a loaded CI machine fast.
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`
    await this.run('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'server.log'),
      '-o',
      options,
      '-w',
      '-t',
      '60',
      'start',
    ])
    this.running = true
  }

  /**
   * Stops the server. `fast` (the default): clients are disconnected, committed data is kept.
   * `immediate`: the server processes quit at once, as in a crash; the next start runs crash
   * recovery from the WAL.
   */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!this.running) return
    this.running = false
    await this.run('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop'])
  }

  /** Stops the server if it runs and removes its files. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => {})
    rmSync(this.dir, { recursive: true, force: true })
  }

  /**
   * Runs a Postgres tool without blocking the event loop, so requests a test has in flight
   * keep being answered (and timed) while the server stops or starts.
   */
  private async run(tool: string, args: string[]): Promise<void> {
    const binary = join(POSTGRES_BIN!, tool)
    const [command, argv] = RUN_AS ? ['runuser', ['-u', RUN_AS, '--', binary, ...args]] : [binary, args]
    try {
      await execFileAsync(command, argv, { encoding: 'utf8', cwd: this.dir })
    } catch (err) {
      const e = err as { code?: unknown; stdout?: string; stderr?: string }
      throw new Error(`${tool} ${args.join(' ')} failed (${String(e.code)}):\n${e.stdout ?? ''}\n${e.stderr ?? ''}`)
    }
  }
}
