import { createHash, timingSafeEqual } from 'node:crypto'
import { BlockList, isIP } from 'node:net'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../errors.js'
import { ErrorResponse } from '../contract/common.js'
import type { Metrics } from './definitions.js'

export interface ExpositionOptions {
  metrics: Metrics
  /** METRICS_TOKEN; unset = the endpoint is public. */
  token: string | undefined
  /** Refreshes gauges that are read at scrape time (the pool). */
  beforeScrape: () => void
}

const digest = (value: string) => createHash('sha256').update(value).digest()

/** Compares in constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  const equal = timingSafeEqual(digest(match?.[1] ?? ''), digest(token))
  return equal && match !== null
}

/** Whether listening on `host` keeps the port on this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  if (name === 'localhost' || name.endsWith('.localhost')) return true
  const family = isIP(name)
  if (family === 0) return false
  const loopback = new BlockList()
  loopback.addSubnet('127.0.0.0', 8, 'ipv4')
  loopback.addAddress('::1', 'ipv6')
  return loopback.check(name, family === 4 ? 'ipv4' : 'ipv6')
}

/**
 * GET /metrics in the Prometheus text format. The route is public to the app's auth hook
 * (API tokens are not metrics credentials); when METRICS_TOKEN is set, its own onRequest hook
 * requires `Authorization: Bearer <METRICS_TOKEN>`. Scrapes are not counted in http_* metrics
 * (config.metrics = false): Prometheus's own polling would otherwise show up as traffic.
 */
export const expositionRoute: FastifyPluginAsyncTypebox<ExpositionOptions> = async (
  app,
  { metrics, token, beforeScrape },
) => {
  app.get(
    '/metrics',
    {
      config: { access: 'public', metrics: false },
      logLevel: 'warn',
      schema: {
        tags: ['metrics'],
        summary: 'Prometheus metrics (text exposition format); needs Bearer METRICS_TOKEN when that is set',
        produces: ['text/plain'],
        response: { 200: Type.String({ description: 'Prometheus text format 0.0.4' }), 401: ErrorResponse },
      },
      onRequest: async (request) => {
        if (token !== undefined && !bearerMatches(request.headers.authorization, token)) {
          throw new AppError(401, 'unauthorized', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>', {
            'www-authenticate': 'Bearer realm="metrics"',
          })
        }
      },
    },
    async (_request, reply) => {
      beforeScrape()
      const body = await metrics.registry.metrics()
      return reply.type(metrics.registry.contentType).send(body)
    },
  )
}
