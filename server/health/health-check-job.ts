import type { FastifyBaseLogger } from 'fastify'
import type { HealthRegistry } from './index.js'
import type { Metrics } from '../metrics/definitions.js'
import type { EventLoopLag } from '../infra/probes/event-loop.js'
import type { JobDefinition } from '../jobs/types.js'

export interface HealthCheckDeps {
  health: HealthRegistry
  metrics: Metrics
  eventLoop: EventLoopLag
  log: FastifyBaseLogger
}

export const EVENT_LOOP_COMPONENT = 'event_loop'

/**
 * health-check: every registered component (database, redis, provider, disk, event loop) →
 * health_check_up / health_check_latency_seconds, with state changes logged. It runs on every
 * instance: each one reports its own view of its dependencies. A component being down is a
 * result, not a failure of the job.
 */
export function healthCheckJob(deps: HealthCheckDeps): JobDefinition {
  const { health, metrics, eventLoop, log } = deps
  const lastUp = new Map<string, boolean>()
  return {
    name: 'health-check',
    description: 'Check the database, Redis, the chat provider, free disk and event-loop delay',
    schedule: '*/15 * * * * *',
    timeoutMs: 10_000,
    attempts: 1,
    scope: 'instance',
    run: async () => {
      const results = await health.check()
      for (const result of results) {
        metrics.healthCheckUp.set({ component: result.component }, result.up ? 1 : 0)
        // For the event loop the interesting latency is the loop's delay, not the probe's.
        const latencySeconds =
          result.component === EVENT_LOOP_COMPONENT
            ? eventLoop.p99Seconds()
            : result.latencyMs === null
              ? null
              : result.latencyMs / 1000
        if (latencySeconds !== null) metrics.healthCheckLatency.set({ component: result.component }, latencySeconds)
        const before = lastUp.get(result.component)
        lastUp.set(result.component, result.up)
        if (before === result.up) continue
        if (!result.up) log.warn({ component: result.component, error: result.error }, 'health check: component down')
        else if (before === false)
          log.info({ component: result.component, latencyMs: result.latencyMs }, 'health check: component recovered')
      }
      const down = results.filter((r) => !r.up)
      return { components: results, up: results.length - down.length, down: down.map((r) => r.component) }
    },
  }
}
