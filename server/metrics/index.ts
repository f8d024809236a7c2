import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { observePool, queryTimer } from './db-instrumentation.js'
import { expositionRoute, isLoopbackHost } from './exposition-route.js'
import { instrumentHttp } from './http-instrumentation.js'
import { metricsRoutes } from './routes.js'
import { Sampler } from './sampler.js'
import { SeriesStore } from './series-store.js'
import { SystemSampler } from './system-sampler.js'

/**
 * Instruments HTTP and database queries into the app's registry, serves /metrics, and runs
 * the sampler (`app.sampler`) that turns the registry into one Snapshot per
 * SAMPLE_INTERVAL_MS, kept in `app.series`. Registered before the
 * features that add signal sources.
 */
export default fp(
  async function metricsPlugin(app: FastifyInstance) {
    const { config, metrics } = app
    const settings = config.metrics

    instrumentHttp(app, metrics, settings.slowRequestMs)
    const timeQuery = queryTimer(metrics, app.log, settings.slowQueryMs)
    app.database.queryListeners.add(timeQuery)
    const pool = () => observePool(metrics, app.database.pool)

    const system = new SystemSampler({
      disk: app.disk,
      eventLoop: app.eventLoop,
      onError: (err, what) => app.log.warn({ err }, `could not read ${what}`),
    })
    const series = new SeriesStore({
      retentionMs: settings.seriesRetentionMinutes * 60_000,
      intervalMs: settings.sampleIntervalMs,
      onLineLimit: (name, labels) =>
        app.log.warn({ signal: name, labels }, 'series line limit reached; new label sets are not kept'),
    })
    const sampler = new Sampler({
      metrics,
      system,
      series,
      events: app.events,
      instance: config.instanceId,
      windowMs: settings.signalWindowSeconds * 1000,
      pool,
      log: app.log,
    })
    app.decorate('sampler', sampler)
    app.decorate('series', series)

    await app.register(expositionRoute, { metrics, token: config.metricsToken, beforeScrape: pool })
    if (config.metricsToken === undefined && !isLoopbackHost(config.host)) {
      app.log.warn(
        { host: config.host },
        `GET /metrics is public: HOST=${config.host} is not a loopback address and METRICS_TOKEN is unset, so anyone who reaches this port can read the metrics. Set METRICS_TOKEN (and give it to Prometheus) to require it`,
      )
    }
    await app.register(metricsRoutes, { sampler, series })

    app.addHook('onReady', async () => {
      await sampler.prime()
      sampler.start(settings.sampleIntervalMs)
    })
    app.addHook('onClose', async () => {
      sampler.stop()
      await sampler.idle()
      app.database.queryListeners.delete(timeQuery)
      system.close()
    })
  },
  { name: 'metrics', dependencies: ['metrics-registry', 'database', 'probes', 'auth'] },
)
