import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { EnvSchema } from '../../../server/config.js'
import { generateToken } from '../../../server/auth/tokens.js'
import { startService as startServiceProcess } from '../../helpers/process.js'
import { dropTestData } from '../../helpers/store.js'
import { benchProc, deferCleanup, logFileFor, pinning, RUN_DIR, type Proc } from './procs.js'
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

/** The service as `npm start` runs it (server/main.ts), in its own schema and key prefix. */
export async function startService(options: ServiceOptions): Promise<Service> {
  const id = `${options.name.replace(/\W+/g, '_')}_${randomBytes(3).toString('hex')}`
  const real = options.realBackends !== false
  const databaseUrl = real ? settings.databaseUrl : undefined
  const redisUrl = real ? settings.redisUrl : undefined
  const schema = databaseUrl ? `bench_${id}`.toLowerCase().slice(0, 60) : undefined
  const prefix = `ccp-bench:${id}:`
  const adminToken = generateToken()
  const dataDir = join(RUN_DIR, `data-${id}`)
  mkdirSync(dataDir, { recursive: true })
  const env: Record<string, string> = {
    INSTANCE_ID: `bench-${options.name}`,
    DATA_DIR: dataDir,
    ADMIN_TOKEN: adminToken,
    CACHE_PREFIX: prefix,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema! } : {}),
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    ...options.env,
  }
  // Unset in the child what the bench did not set: the parent's DATABASE_URL must not leak in.
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'DATABASE_SCHEMA']) if (!(key in env)) env[key] = ''
  // BENCH_PROFILE=1: every service can be asked for a CPU profile of a window (lib/profile.ts).
  const preload = [...(options.preload ?? []), ...(profiling ? [PROFILER_PRELOAD] : [])]
  // Registered before the start: a service that fails half-way may have created its schema.
  const unregisterDrop = deferCleanup(() => dropData({ databaseUrl, schema, redisUrl, prefix }))
  const logFile = logFileFor(options.name)
  const started = await startServiceProcess(env, {
    name: options.name,
    preload,
    prefix: pinning(options.cpus),
    logFile,
    ipc: options.ipc || profiling,
    timeoutMs: 90_000,
  })
  const proc = benchProc(started, { port: started.port, logFile, cpus: options.cpus, idle: 'park' })
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

/** Drops the bench's Postgres schema and deletes its Redis keys (only what a bench created). */
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
