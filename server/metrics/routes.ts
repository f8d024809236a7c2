import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorResponse } from '../contract/common.js'
import { PerformanceView, SeriesQuery, SeriesView, SnapshotView } from '../contract/metrics.js'
import { summarize } from './performance.js'
import type { Sampler } from './sampler.js'
import type { SeriesStore } from './series-store.js'
import { parseLabelMatchers, parseSince } from './series-query.js'
import { SIGNAL_NAMES } from '../contract/signals.js'

export interface MetricsRoutesOptions {
  sampler: Sampler
  series: SeriesStore
}

/** Read-only views of the sampler for viewers: the latest snapshot, series history, a performance summary. */
export const metricsRoutes: FastifyPluginAsyncTypebox<MetricsRoutesOptions> = async (app, { sampler, series }) => {
  // Before the first timer tick there is no snapshot yet: take one now rather than answer empty.
  const latest = async () => sampler.latest() ?? (await sampler.tick())

  app.get(
    '/api/metrics/snapshot',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['metrics'],
        summary: 'The latest sampler snapshot: every signal with its labels and value',
        response: { 200: SnapshotView },
      },
    },
    async () => latest(),
  )

  app.get(
    '/api/metrics/series',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['metrics'],
        summary: 'History of one signal from the in-memory series (last SERIES_RETENTION_MINUTES)',
        querystring: SeriesQuery,
        response: { 200: SeriesView, 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { signal } = request.query
      const matchers = parseLabelMatchers(request.query.labels)
      const since = parseSince(request.query.since, Date.now())
      const known = [...new Set([...SIGNAL_NAMES, ...series.names()])].sort()
      if (!known.includes(signal)) {
        return reply.code(404).send({
          error: {
            code: 'unknown_signal',
            message: `Unknown signal "${signal}"; known signals: ${known.join(', ')}`,
            details: { known },
          },
        })
      }
      const lines = series.query(signal, matchers, since).map(({ labels, points }) => ({ labels, points }))
      return { signal, since: since ?? null, lines }
    },
  )

  app.get(
    '/api/performance',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['metrics'],
        summary:
          'System, HTTP, cache, database and chat at a glance, with recommendations where a threshold is crossed',
        response: { 200: PerformanceView },
      },
    },
    async () => summarize(await latest(), sampler.latestDetail()),
  )
}
