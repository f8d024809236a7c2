import fp from 'fastify-plugin'
import fastifyCompress from '@fastify/compress'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifyUnderPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import helmet from 'helmet'

/**
 * Cross-cutting HTTP behaviour: security headers, compression, rate limiting (on the routes
 * that ask for it) and load shedding when the event loop is saturated.
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
    if (app.config.maxEventLoopDelayMs > 0) {
      await app.register(fastifyUnderPressure, {
        maxEventLoopDelay: app.config.maxEventLoopDelayMs,
        retryAfter: 5,
        message: 'The server is overloaded; retry shortly',
      })
    }
  },
  { name: 'http', dependencies: ['redis'] },
)
