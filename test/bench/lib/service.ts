import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { EnvSchema } from '../../../server/config.js'
import { generateToken } from '../../../server/auth/token-repository.js'
import { dropTestData } from '../../helpers/store.js'
import { deferCleanup, freePort, RUN_DIR, startProc, type Proc } from './procs.js'
import { PROFILER_PRELOAD, profiling } from './profile.js'
import { settings } from './settings.js'

/** Whether this build of the service reads an environment variable (switches scenarios may use). */
export function serviceReads(name: string): boolean {
  return Object.hasOwn(EnvSchema.properties, name)
}

export interface ServiceOptions {
  name: string
  env?: Record<string, string>
  /** Extra `--import` modules for the service process (bench instrumentation). */
  preload?: string[]
  ipc?: boolean
  cpus?: string
  /** Use the real Postgres/Redis when configured (default); false = PGlite + in-process cache. */
  realBackends?: boolean
}

export interface Service {
  proc: Proc
  url: string
  adminToken: string
  headers: Record<string, string>
  schema: string | undefined
  prefix: string
  databaseUrl: string | undefined
  redisUrl: string | undefined
  /** JSON API call with the admin token; throws on a non-2xx answer. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>
  stop(): Promise<void>
}

/** Where one service keeps its state: its Postgres schema (or PGlite data dir), Redis key prefix, admin token. */
export interface ServiceData {
  id: string
  schema: string | undefined
  prefix: string
  dataDir: string
  adminToken: string
  databaseUrl: string | undefined
  redisUrl: string | undefined
}

/** A fresh schema, key prefix and data dir for a service named `name` (nothing is created in Postgres yet). */
export function serviceData(name: string, realBackends = true): ServiceData {
  const id = `${name.replace(/\W+/g, '_')}_${randomBytes(3).toString('hex')}`
  const databaseUrl = realBackends ? settings.databaseUrl : undefined
  const redisUrl = realBackends ? settings.redisUrl : undefined
  const dataDir = join(RUN_DIR, `data-${id}`)
  mkdirSync(dataDir, { recursive: true })
  return {
    id,
    schema: databaseUrl ? `bench_${id}`.toLowerCase().slice(0, 60) : undefined,
    prefix: `ccp-bench:${id}:`,
    dataDir,
    adminToken: generateToken(),
    databaseUrl,
    redisUrl,
  }
}

/** The environment of a service process on `data`, listening on `port`. */
export function serviceEnv(
  name: string,
  data: ServiceData,
  port: number,
  extra: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info',
    INSTANCE_ID: `bench-${name}`,
    DATA_DIR: data.dataDir,
    ADMIN_TOKEN: data.adminToken,
    CACHE_PREFIX: data.prefix,
    ...(data.databaseUrl ? { DATABASE_URL: data.databaseUrl, DATABASE_SCHEMA: data.schema! } : {}),
    ...(data.redisUrl ? { REDIS_URL: data.redisUrl } : {}),
    ...extra,
  }
  // Unset in the child what the bench did not set: the parent's DATABASE_URL must not leak in.
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'DATABASE_SCHEMA']) if (!(key in env)) env[key] = ''
  return env
}

/** The service as `npm start` runs it (server/main.ts), in its own schema and key prefix. */
export async function startService(options: ServiceOptions): Promise<Service> {
  const data = serviceData(options.name, options.realBackends !== false)
  const { schema, prefix, adminToken, databaseUrl, redisUrl } = data
  const port = await freePort()
  const env = serviceEnv(options.name, data, port, options.env)
  // BENCH_PROFILE=1: every service can be asked for a CPU profile of a window (lib/profile.ts).
  const preload = [...(options.preload ?? []), ...(profiling ? [PROFILER_PRELOAD] : [])]
  const imports = preload.flatMap((p) => ['--import', p])
  // Registered before the start: a service that fails half-way may have created its schema.
  const unregisterDrop = deferCleanup(() => dropData({ databaseUrl, schema, redisUrl, prefix }))
  const proc = await startProc({
    name: options.name,
    command: ['node', '--import', 'tsx', ...imports, 'server/main.ts'],
    env,
    port,
    readyPath: '/health/ready',
    ipc: options.ipc || profiling,
    cpus: options.cpus,
    idle: 'park',
    timeoutMs: 90_000,
  })
  const url = proc.url
  const headers = { authorization: `Bearer ${adminToken}` }
  const cleanup = async () => {
    await proc.stop()
    await dropData({ databaseUrl, schema, redisUrl, prefix })
  }
  unregisterDrop()
  const unregister = deferCleanup(cleanup)
  return {
    proc,
    url,
    adminToken,
    headers,
    schema,
    prefix,
    databaseUrl,
    redisUrl,
    async api<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await response.text()
      if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text.slice(0, 500)}`)
      return (text ? JSON.parse(text) : undefined) as T
    },
    async stop() {
      unregister()
      await cleanup()
    },
  }
}

/** Drops the bench's Postgres schema and deletes its Redis keys (only the bench's own). */
export async function dropData(what: {
  databaseUrl?: string
  schema?: string
  redisUrl?: string
  prefix?: string
}): Promise<void> {
  await dropTestData(
    { name: 'bench', databaseUrl: what.databaseUrl, redisUrl: what.redisUrl },
    {
      schema: what.schema?.startsWith('bench_') ? what.schema : undefined,
      cachePrefix: what.prefix?.startsWith('ccp-bench:') ? what.prefix : undefined,
    },
  )
}
