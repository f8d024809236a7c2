import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createMetrics, type Metrics } from './definitions.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

/** The app's own prom-client registry and metric objects, available to every feature. */
export default fp(
  async function metricsRegistryPlugin(app: FastifyInstance) {
    const metrics = createMetrics({ instanceId: app.config.instanceId })
    app.decorate('metrics', metrics)
    app.addHook('onClose', async () => metrics.registry.clear())
  },
  { name: 'metrics-registry' },
)
