import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort, processTree } from '../helpers/process.js'

/** Every live descendant of `pid`, with its command line (from /proc). */
function descendants(pid: number): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = []
  for (const child of processTree(pid).slice(1)) {
    try {
      found.push({ pid: child, cmdline: readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ').trim() })
    } catch {
      // the process ended while we looked
    }
  }
  return found
}

describe('npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccp-compiled-'))
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it('builds what is stale and runs plain node on the compiled entry: no tsx, no esbuild', async () => {
    const port = await freePort()
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    }
    delete env.DATABASE_URL
    delete env.REDIS_URL
    delete env.ADMIN_TOKEN
    delete env.NODE_OPTIONS
    const npm = spawn('npm', ['start', '--silent'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    npm.stdout!.on('data', (d) => (output += d))
    npm.stderr!.on('data', (d) => (output += d))
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)))

    // The first start may compile the server and build the dashboard: allow for that.
    const deadline = Date.now() + 150_000
    let ready = false
    while (!ready && Date.now() < deadline && npm.exitCode === null) {
      ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
        (r) => r.status === 200,
        () => false,
      )
      if (!ready) await new Promise((r) => setTimeout(r, 250))
    }
    expect(ready, `the service did not become ready:\n${output}`).toBe(true)

    const tree = descendants(npm.pid!)
    const service = tree.filter((p) => /^(\S*\/)?node dist\/server\/main\.js$/.test(p.cmdline))
    expect(service, JSON.stringify(tree)).toHaveLength(1)
    expect(tree.filter((p) => /tsx|esbuild/.test(p.cmdline))).toEqual([])

    process.kill(service[0]!.pid, 'SIGTERM')
    expect(await exited).toBe(0)
  }, 180_000)
})
