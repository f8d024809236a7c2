import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import adminPlugin from './admin/index.js'
import authPlugin from './auth/index.js'
import cachePlugin from './cache/index.js'
import redisPlugin from './cache/redis-plugin.js'
import chatPlugin from './chat/index.js'
import type { Config } from './config.js'
import databasePlugin from './db/index.js'
import { AppEvents } from './events.js'
import healthPlugin from './health/index.js'
import { registerDashboard } from './http/dashboard.js'
import { installErrorHandlers } from './http/errors.js'
import httpPlugin from './http/index.js'
import { openApiDocument, openApiRoutes } from './http/openapi.js'
import metricsRegistryPlugin from './metrics/registry-plugin.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    events: AppEvents
  }
}

export interface BuildOptions {
  /** Where PGlite keeps its files when DATABASE_URL is unset ('memory://' in tests). */
  pgliteDataDir?: string
  /** Send logs here instead of stdout (tests read them). */
  logStream?: NodeJS.WritableStream
}

/** Secrets never reach the log, whatever object they travel in. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.cookie',
  '*.token',
  '*.secret',
  '*.password',
  '*.apiKey',
  '*.api_key',
]

function loggerOptions(config: Config, options: BuildOptions): FastifyServerOptions['logger'] {
  const base = { level: config.logLevel, redact: { paths: REDACT, censor: '[redacted]' } }
  if (options.logStream) return { ...base, stream: options.logStream }
  if (process.stdout.isTTY) return { ...base, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } }
  return base
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
    trustProxy: config.trustProxy,
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, useDefaults: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.decorate('config', config)
  app.decorate('events', new AppEvents())
  installErrorHandlers(app)

  await app.register(metricsRegistryPlugin)
  await app.register(databasePlugin, { pgliteDataDir: options.pgliteDataDir })
  await app.register(redisPlugin)
  await app.register(httpPlugin)
  await app.register(openApiDocument)
  await app.register(adminPlugin)
  await app.register(authPlugin)
  await app.register(healthPlugin)
  await app.register(cachePlugin)
  await app.register(chatPlugin)

  await app.register(openApiRoutes)
  await registerDashboard(app)
  await app.ready()
  return app
}
