import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  backends,
  capturingTerminal,
  createTestApp,
  dropTestData,
  embedded,
  real,
  uniqueName,
  type Backend,
} from '../helpers/app.js'
import { freePort, serviceArgv, startProcess, startService } from '../helpers/process.js'

const TOKEN = /ccp_[A-Za-z0-9_-]{43}/g

/** Where a test keeps one database's state (bootstrap happens once per database, so each test has its own). */
function freshStore(backend: Backend) {
  const schema = uniqueName('boot')
  const cachePrefix = `ccp-test:${uniqueName('boot')}:`
  const dataDir = mkdtempSync(join(tmpdir(), 'ccp-boot-'))
  return {
    options: { schema, cachePrefix, dataDir, keepData: true, captureLogs: true, withoutAdminToken: true },
    dataDir,
    async drop() {
      await dropTestData(backend, { schema, cachePrefix })
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

describe.each(backends)('bootstrap admin token ($name)', (backend) => {
  const stores: Array<ReturnType<typeof freshStore>> = []
  const store = () => {
    const s = freshStore(backend)
    stores.push(s)
    return s
  }
  afterAll(async () => {
    for (const s of stores) await s.drop()
  })

  it('writes the token to DATA_DIR/admin-token (mode 0600) when stdout is not a terminal; the log says only where', async () => {
    const { options, dataDir } = store()
    const file = join(dataDir, 'admin-token')
    const terminal = capturingTerminal(false)
    const first = await createTestApp(backend, { ...options, terminal })
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const token = readFileSync(file, 'utf8').trim()
    expect(token).toMatch(/^ccp_[A-Za-z0-9_-]{43}$/)
    expect(terminal.text()).toBe('')
    const logged = JSON.stringify(first.logs)
    expect(logged).not.toContain(token)
    expect(logged).not.toMatch(TOKEN)
    expect(first.logs.filter((l) => String(l.msg).includes(file))).toHaveLength(1)
    const me = await first.request('GET', '/api/auth/me', undefined, { token })
    expect(me.json()).toMatchObject({ role: 'admin', name: 'bootstrap admin' })
    await first.close()

    // Once per database: a restart creates no other token and leaves the file alone.
    rmSync(file)
    const second = await createTestApp(backend, { ...options, terminal })
    expect(existsSync(file)).toBe(false)
    expect(second.logs.filter((l) => String(l.msg).includes('admin-token'))).toEqual([])
    expect((await second.request('GET', '/api/auth/me', undefined, { token })).statusCode).toBe(200)
    await second.close()
  }, 120_000) // two starts, on PGlite files

  it('prints the token to the terminal only, with how to use it, when stdout is one', async () => {
    const { options, dataDir } = store()
    const terminal = capturingTerminal(true)
    const t = await createTestApp(backend, { ...options, terminal })
    const printed = terminal.text()
    const tokens = printed.match(TOKEN) ?? []
    expect(new Set(tokens).size).toBe(1)
    expect(printed).toContain('Authorization: Bearer')
    const token = tokens[0]!
    expect(JSON.stringify(t.logs)).not.toContain(token)
    expect(t.logs.some((l) => /printed .*terminal/.test(String(l.msg)))).toBe(true)
    expect(existsSync(join(dataDir, 'admin-token'))).toBe(false)
    expect((await t.request('GET', '/api/auth/me', undefined, { token })).json().role).toBe('admin')
    await t.close()
  })

  it('uses ADMIN_TOKEN as the admin token and prints or writes no token', async () => {
    const { options, dataDir } = store()
    const adminToken = `ccp_${'x'.repeat(43)}`
    const terminal = capturingTerminal(true)
    const t = await createTestApp(backend, { ...options, terminal, env: { ADMIN_TOKEN: adminToken } })
    expect(terminal.text()).toBe('')
    expect(JSON.stringify(t.logs)).not.toMatch(TOKEN)
    expect(existsSync(join(dataDir, 'admin-token'))).toBe(false)
    const me = await t.request('GET', '/api/auth/me', undefined, { token: adminToken })
    expect(me.json()).toMatchObject({ role: 'admin', name: 'ADMIN_TOKEN' })
    await t.close()
  })
})

/**
 * The service as a real process (server/main.ts), its output read as an operator would see
 * it: through a pipe (a container's log) and on a terminal (a pseudo-terminal from script(1)).
 * On the real backend when there is one (it starts faster), else on PGlite.
 */
describe('bootstrap admin token of a real process', () => {
  const backend = real ?? embedded
  const stores: Array<ReturnType<typeof freshStore>> = []
  afterAll(async () => {
    for (const s of stores) await s.drop()
  })
  const envFor = (s: ReturnType<typeof freshStore>) => ({
    DATA_DIR: s.dataDir,
    ADMIN_TOKEN: '',
    DATABASE_URL: backend.databaseUrl ?? '',
    DATABASE_SCHEMA: backend.databaseUrl ? s.options.schema : 'public',
    REDIS_URL: backend.redisUrl ?? '',
    CACHE_PREFIX: s.options.cachePrefix,
    JOBS_ENABLED: 'false',
  })

  it('with stdout a pipe: writes DATA_DIR/admin-token (0600) and logs only its path', async () => {
    const s = freshStore(backend)
    stores.push(s)
    const service = await startService(envFor(s), { name: 'bootstrap-pipe', timeoutMs: 120_000 })
    try {
      const file = join(s.dataDir, 'admin-token')
      expect(statSync(file).mode & 0o777).toBe(0o600)
      const token = readFileSync(file, 'utf8').trim()
      const output = service.output()
      expect(output).not.toContain(token)
      expect(output).not.toMatch(TOKEN)
      expect(output).toContain(file)
      const me = await fetch(`${service.url}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } })
      expect(me.status).toBe(200)
    } finally {
      await service.stop()
    }
  }, 150_000)

  it('on a terminal: prints the token once and writes no file', async () => {
    const s = freshStore(backend)
    stores.push(s)
    const port = await freePort()
    const command = serviceArgv()
      .map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`)
      .join(' ')
    const service = await startProcess({
      name: 'bootstrap-tty',
      argv: ['script', '-qfec', command, '/dev/null'],
      env: { ...envFor(s), LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: String(port) },
      readyUrl: `http://127.0.0.1:${port}/health/ready`,
      timeoutMs: 120_000,
      pollMs: 200,
    })
    try {
      const output = service.output()
      const tokens = output.match(TOKEN) ?? []
      expect(tokens, output).toHaveLength(1)
      expect(output).toContain('Authorization: Bearer')
      expect(existsSync(join(s.dataDir, 'admin-token'))).toBe(false)
      const me = await fetch(`http://127.0.0.1:${port}/api/auth/me`, {
        headers: { authorization: `Bearer ${tokens[0]}` },
      })
      expect(me.status).toBe(200)
    } finally {
      await service.stop()
    }
  }, 150_000)
})
