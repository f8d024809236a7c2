import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance, HTTPMethods, LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll } from 'vitest'
import { buildApp, type Terminal } from '../../server/app.js'
import { loadConfig, type Config } from '../../server/config.js'
import { generateToken } from '../../server/auth/token-repository.js'
import { listenOnce } from './live-client.js'
import { dropTestData, uniqueName, type Backend } from './store.js'

export { backends, dropTestData, embedded, real, uniqueName, type Backend } from './store.js'

export interface TestApp {
  app: FastifyInstance
  config: Config
  /** An admin token, valid for this app. */
  adminToken: string
  /** Bearer header for the admin token (or another token). */
  auth(token?: string): { authorization: string }
  /**
   * `app.inject` as the admin (or with `token`); an object payload goes as JSON, a string as
   * it is (set its content-type in `headers`).
   */
  request(
    method: HTTPMethods,
    url: string,
    payload?: unknown,
    options?: RequestOptions,
  ): Promise<LightMyRequestResponse>
  /** POST /v1/chat/completions with one user message (and `extra` body fields). */
  chat(content: string, extra?: Record<string, unknown>, options?: RequestOptions): Promise<LightMyRequestResponse>
  /** Log lines the app wrote (JSON objects), when `captureLogs` was set. */
  logs: Array<Record<string, unknown>>
  close(): Promise<void>
}

export interface RequestOptions {
  /** The bearer token to send instead of the admin's; '' sends none. */
  token?: string
  headers?: Record<string, string>
}

export interface TestAppOptions {
  /** Extra environment variables (strings, as in the real environment). */
  env?: Record<string, string>
  captureLogs?: boolean
  /** Reuse an existing schema / prefix / data dir (restarts, several instances on one store). */
  schema?: string
  cachePrefix?: string
  dataDir?: string
  /** Keep the schema and Redis keys on close (for a restart test that builds a second app). */
  keepData?: boolean
  /** Start without an ADMIN_TOKEN (bootstrap tests). */
  withoutAdminToken?: boolean
  /** Where the app prints to the terminal (the bootstrap token); default: not a terminal, output dropped. */
  terminal?: Terminal
}

/** A terminal stand-in that keeps what the app prints; `isTTY` says whether it passes for one. */
export function capturingTerminal(isTTY: boolean): Terminal & { text(): string } {
  let text = ''
  return {
    isTTY,
    write(chunk: string) {
      text += chunk
      return true
    },
    text: () => text,
  }
}

/**
 * Builds the real app on a backend with its own Postgres schema (or in-memory PGlite, or a
 * PGlite dir) and its own Redis key prefix, so test files never see each other's data.
 */
export async function createTestApp(backend: Backend, options: TestAppOptions = {}): Promise<TestApp> {
  const schema = options.schema ?? uniqueName('test')
  const cachePrefix = options.cachePrefix ?? `ccp-test:${uniqueName('p')}:`
  // Instances of one fleet share ADMIN_TOKEN (a different one would rotate the others' out).
  const adminToken = options.withoutAdminToken ? '' : (options.env?.ADMIN_TOKEN ?? generateToken())
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'ccp-test-'))
  const env: Record<string, string> = {
    LOG_LEVEL: options.captureLogs ? 'info' : 'silent',
    DATA_DIR: dataDir,
    DATABASE_SCHEMA: backend.databaseUrl ? schema : 'public',
    CACHE_PREFIX: cachePrefix,
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...(adminToken ? { ADMIN_TOKEN: adminToken } : {}),
    ...(backend.databaseUrl ? { DATABASE_URL: backend.databaseUrl } : {}),
    ...(backend.redisUrl ? { REDIS_URL: backend.redisUrl } : {}),
    ...options.env,
  }
  const config = loadConfig(env)
  const logs: Array<Record<string, unknown>> = []
  const logStream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line))
      done()
    },
  })
  // Without a database URL, PGlite lives in memory unless the test asked for a data dir it keeps.
  const pgliteDataDir = backend.databaseUrl ? undefined : options.dataDir ? undefined : 'memory://'
  // Never the runner's own terminal: whether tests run in one must not change what the app does.
  const terminal = options.terminal ?? capturingTerminal(false)
  const app = await buildApp(config, { pgliteDataDir, logStream, terminal })
  const auth = (token = adminToken) => ({ authorization: `Bearer ${token}` })
  const request: TestApp['request'] = (method, url, payload, { token, headers } = {}) =>
    app.inject({
      method,
      url,
      headers: { ...(token === '' ? {} : auth(token)), ...headers },
      ...(payload === undefined ? {} : { payload: payload as string | object }),
    })
  return {
    app,
    config,
    adminToken,
    logs,
    auth,
    request,
    chat: (content, extra = {}, options) =>
      request('POST', '/v1/chat/completions', { messages: [{ role: 'user', content }], ...extra }, options),
    async close() {
      await app.close()
      if (options.keepData) return
      await dropTestData(backend, { schema: backend.databaseUrl ? schema : undefined, cachePrefix })
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** A new API token with `role`, created through the API as an admin would. */
export async function createToken(
  t: TestApp,
  role: 'admin' | 'viewer' | 'chat',
  name = `${role} token`,
  grant: { project?: string; limits?: Record<string, number>; budget?: Record<string, unknown> } = {},
): Promise<{ token: { id: string; token_prefix: string }; secret: string }> {
  const res = await t.request('POST', '/api/tokens', { name, role, ...grant })
  if (res.statusCode !== 201) throw new Error(`could not create a ${role} token: ${res.statusCode} ${res.body}`)
  return res.json()
}

export interface UseTestAppOptions extends TestAppOptions {
  /** Listen on a free port too; `baseUrl` is then its URL. */
  listen?: boolean
}

/**
 * The app of a describe block: built in beforeAll, closed in afterAll. The object it returns
 * is filled in when beforeAll runs, so use it inside hooks and tests, not in the block's body.
 * `options` may be a function, for options only known once earlier hooks have run.
 */
export function useTestApp(
  backend: Backend,
  options: UseTestAppOptions | (() => UseTestAppOptions) = {},
): TestApp & { baseUrl: string } {
  const t = {} as TestApp & { baseUrl: string }
  let built: TestApp | undefined
  beforeAll(async () => {
    const resolved = typeof options === 'function' ? options() : options
    built = await createTestApp(backend, resolved)
    Object.assign(t, built, { baseUrl: resolved.listen ? await listenOnce(built.app) : '' })
  })
  afterAll(async () => built?.close())
  return t
}

/**
 * `count` apps of one describe block on one Postgres schema and one Redis prefix with one
 * ADMIN_TOKEN: a fleet inside this process. Built in beforeAll (in order), closed in afterAll,
 * then their shared data is dropped.
 */
export function useInstances(backend: Backend, count: number, options: TestAppOptions = {}): TestApp[] {
  const schema = uniqueName('test')
  const cachePrefix = `ccp-test:${uniqueName('fleet')}:`
  const adminToken = generateToken()
  const instances = Array.from({ length: count }, () => ({}) as TestApp)
  const built: TestApp[] = []
  beforeAll(async () => {
    const shared = { ...options, schema, cachePrefix, keepData: true, env: { ...options.env, ADMIN_TOKEN: adminToken } }
    for (const instance of instances) {
      const app = await createTestApp(backend, shared)
      built.push(app)
      Object.assign(instance, app)
    }
  })
  afterAll(async () => {
    for (const app of built) await app.close()
    await dropTestData(backend, { schema, cachePrefix })
  })
  return instances
}
