import fp from 'fastify-plugin'
import fastifyCompress from '@fastify/compress'
import fastifyRateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import helmet from 'helmet'
import { serviceUnavailable } from '../../errors.js'

/**
 * Cross-cutting HTTP behaviour: security headers, compression, rate limiting (on the routes
 * that ask for it) and load shedding while the event loop lags more than MAX_EVENT_LOOP_DELAY_MS.
 */
export default fp(
  async function httpPlugin(app: FastifyInstance) {
    const https = app.config.publicUrl.startsWith('https://')
    // helmet itself, not @fastify/helmet: that plugin builds helmet's middleware anew for every
    // request (parsing the CSP directives each time); ours never vary, so it is built once.
    const securityHeaders = helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          // Svelte sets inline style attributes (transitions, sizes); no inline scripts anywhere.
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          ...(https ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      hsts: https,
      crossOriginEmbedderPolicy: false,
    })
    app.addHook('onRequest', (request, reply, done) =>
      securityHeaders(request.raw, reply.raw, done as (err?: unknown) => void),
    )
    // The plugin's default type filter already leaves text/event-stream alone, so
    // Server-Sent Events reach the client token by token.
    await app.register(fastifyCompress, { threshold: 1024 })
    await app.register(fastifyRateLimit, {
      global: false,
      ...(app.redis ? { redis: app.redis, nameSpace: `${app.config.cachePrefix}ratelimit:`, skipOnError: true } : {}),
    })
    // Load shedding on the app's one event-loop measurement (the same p99 the signal and the
    // health component show), so that "overloaded" means one thing everywhere.
    const maxDelayMs = app.config.maxEventLoopDelayMs
    if (maxDelayMs > 0) {
      app.addHook('onRequest', async () => {
        if (app.eventLoop.lagging(maxDelayMs)) throw serviceUnavailable('The server is overloaded; retry shortly')
      })
    }
  },
  { name: 'http', dependencies: ['redis', 'probes'] },
)
