import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import pino from 'pino'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import auditPlugin from './audit/index.js'
import alertsPlugin from './alerts/index.js'
import authPlugin from './auth/index.js'
import type { Terminal } from './auth/bootstrap.js'
import cachePlugin from './cache/index.js'
import redisPlugin from './infra/redis/index.js'
import chatPlugin from './chat/index.js'
import usagePlugin from './usage/index.js'
import { DEFAULT_ACCESS, type Access } from './auth/access.js'
import type { Config } from './config.js'
import databasePlugin from './infra/db/index.js'
import { AppEvents } from './events.js'
import fleetPlugin from './fleet/index.js'
import healthPlugin from './health/index.js'
import { registerDashboard } from './infra/http/dashboard.js'
import { frameworkErrors, installErrorHandlers, MAX_PARAM_LENGTH } from './infra/http/errors.js'
import { refuseWhileClosing } from './infra/http/closing.js'
import { drainUnreadBodies } from './infra/http/drain.js'
import { jsonLimitsKeyword } from './infra/http/json-limits.js'
import { lazyCompilers } from './infra/http/lazy-compilers.js'
import { redactLogLine } from './infra/http/log-redaction.js'
import jobsPlugin from './jobs/index.js'
import probesPlugin from './infra/probes/index.js'
import httpPlugin from './infra/http/index.js'
import insightsPlugin from './insights/index.js'
import livePlugin from './live/index.js'
import { openApiDocument, openApiRoutes } from './infra/http/openapi.js'
import metricsPlugin from './metrics/index.js'
import metricsRegistryPlugin from './metrics/registry-plugin.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    events: AppEvents
    /** Every route as registered, with its declared access (the route-sweep test reads this). */
    registeredRoutes: RegisteredRoute[]
  }
}

export interface RegisteredRoute {
  method: string
  url: string
  access: Access
}

export interface BuildOptions {
  /** Where PGlite keeps its files when DATABASE_URL is unset ('memory://' in tests). */
  pgliteDataDir?: string
  /** Send logs here instead of stdout (tests read them). */
  logStream?: NodeJS.WritableStream
  /** Where the bootstrap admin token may be printed, when it is a TTY (default process.stdout). */
  terminal?: Terminal
}

export type { Terminal }

/** Secrets never reach the log, whatever object they travel in (see redactLogLine). */
function loggerOptions(config: Config, options: BuildOptions): FastifyServerOptions['logger'] {
  const base = { level: config.logLevel, hooks: { streamWrite: redactLogLine } }
  if (options.logStream) return { ...base, stream: options.logStream }
  if (process.stdout.isTTY)
    return {
      ...base,
      transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } },
    }
  // Asynchronous writes: a request does not wait for the write(2) of its log lines (lines
  // logged meanwhile go out together). pino writes what is pending synchronously on exit,
  // process.exit() and uncaught errors included.
  return { ...base, stream: pino.destination({ dest: 1, sync: false }) }
}

/**
 * Never `true` (every hop believed: request.ip would be whatever the client wrote first).
 * Addresses: fastify believes a hop only if it comes from one of them. A number n: request.ip
 * is the address n hops back along X-Forwarded-For, as @fastify/proxy-addr counts hops (the
 * socket is hop 0); fastify 5.12.1 dropped that form since it cannot tell a proxy from a
 * client that connects directly, so it is a trust function here, for deployments where
 * nothing but the proxies reaches the service.
 */
function trustProxyOption(trustProxy: number | string[]): FastifyServerOptions['trustProxy'] {
  if (Array.isArray(trustProxy)) return trustProxy
  if (trustProxy === 0) return false
  return (_address: string, hop: number) => hop < trustProxy
}

/**
 * Builds the whole service without listening: `main.ts` listens, tests inject. Plugin order
 * matters: infrastructure, then auth (its hook guards everything registered after), then
 * features, then the dashboard's catch-all.
 */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(config, options),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: trustProxyOption(config.trustProxy),
    requestIdHeader: 'x-request-id',
    // Our own 503 while closing (infra/http/closing.ts), in our error shape.
    return503OnClosing: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors,
    forceCloseConnections: 'idle',
    // Connecting, migrating and (embedded) booting PGlite can take several seconds on a busy
    // machine; avvio's 10 s default would abort start-up.
    pluginTimeout: 120_000,
    // Each route's validators and serializers are compiled on its first request (see lazy-compilers.ts).
    schemaController: { compilersFactory: lazyCompilers() },
    // strictNumbers: "1e309" would otherwise coerce to Infinity and pass integer checks.
    ajv: {
      customOptions: {
        coerceTypes: 'array',
        removeAdditional: false,
        useDefaults: true,
        allErrors: false,
        strictNumbers: true,
      },
      // x-json-limits: the depth and size limits of free-form JSON fields (FreeJson in server/contract/).
      plugins: [jsonLimitsKeyword],
    },
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.decorate('config', config)
  app.decorate('events', new AppEvents())
  const registeredRoutes: RegisteredRoute[] = []
  app.decorate('registeredRoutes', registeredRoutes)
  // Child scopes (dashboard, docs) set their access in onRoute hooks that run after this
  // root one, so read the route's config when asked rather than now.
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      registeredRoutes.push({
        method,
        url: route.url,
        get access() {
          return route.config?.access ?? DEFAULT_ACCESS
        },
      })
    }
  })
  installErrorHandlers(app)
  refuseWhileClosing(app)
  drainUnreadBodies(app)

  await app.register(metricsRegistryPlugin)
  await app.register(databasePlugin, { pgliteDataDir: options.pgliteDataDir })
  await app.register(redisPlugin)
  await app.register(probesPlugin)
  await app.register(httpPlugin)
  await app.register(openApiDocument)
  await app.register(auditPlugin)
  await app.register(authPlugin, { terminal: options.terminal ?? process.stdout })
  await app.register(metricsPlugin)
  await app.register(jobsPlugin)
  await app.register(healthPlugin)
  await app.register(cachePlugin)
  await app.register(usagePlugin)
  await app.register(chatPlugin)
  await app.register(fleetPlugin)
  await app.register(livePlugin)
  await app.register(insightsPlugin)
  await app.register(alertsPlugin)

  await app.register(openApiRoutes)
  await registerDashboard(app)
  await app.ready()
  return app
}
