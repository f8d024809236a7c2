import type { FastifyInstance } from 'fastify'
import type { Metrics } from './definitions.js'

/** The route label of requests no route matched: raw URLs would make the label unbounded. */
export const UNMATCHED_ROUTE = '__unmatched__'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: this route's requests are not counted in http_* metrics (the /metrics scrape). */
    metrics?: boolean
  }
}

/**
 * Counts and times every response in an onResponse hook, so requests the auth hook rejected
 * (401/403) or that no route matched (404) are counted too. Labels: method, route template,
 * status code. Responses slower than SLOW_REQUEST_MS are logged at warn with the route
 * template, never the URL (its query string may carry values).
 */
export function instrumentHttp(app: FastifyInstance, metrics: Metrics, slowRequestMs: number): void {
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.config?.metrics === false) return
    const route = request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE)
    const labels = { method: request.method, route, status_code: String(reply.statusCode) }
    const durationMs = reply.elapsedTime
    metrics.httpRequestsTotal.inc(labels)
    metrics.httpRequestDuration.observe(labels, durationMs / 1000)
    if (durationMs > slowRequestMs) {
      request.log.warn(
        { method: request.method, route, statusCode: reply.statusCode, durationMs: Math.round(durationMs) },
        'slow request',
      )
    }
  })
}
