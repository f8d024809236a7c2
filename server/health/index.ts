import fp from 'fastify-plugin'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { HealthView, ReadinessView } from '../contract/health.js'
import type { AppEvents } from '../events.js'
import { databaseCheck, redisCheck, runCheck, type ComponentHealth, type HealthCheck } from './checks.js'
import { EVENT_LOOP_COMPONENT, healthCheckJob } from './health-check-job.js'
import { diskCheck, eventLoopCheck } from './probes.js'

declare module 'fastify' {
  interface FastifyInstance {
    health: HealthRegistry
  }
}

/**
 * The components whose health we check. Readiness depends on those marked `readiness`
 * (database, Redis when configured); `/api/health` and the health-check job show them all.
 * Features register more (the chat provider).
 */
export class HealthRegistry {
  private readonly checks = new Map<string, { check: HealthCheck; readiness: boolean }>()
  private readonly lastUp = new Map<string, boolean>()

  constructor(private readonly events: AppEvents) {}

  register(component: string, check: HealthCheck, options: { readiness?: boolean } = {}): void {
    this.checks.set(component, { check, readiness: options.readiness ?? false })
  }

  components(): string[] {
    return [...this.checks.keys()]
  }

  async check(options: { readinessOnly?: boolean } = {}): Promise<ComponentHealth[]> {
    const entries = [...this.checks].filter(([, c]) => !options.readinessOnly || c.readiness)
    const results = await Promise.all(entries.map(([component, { check }]) => runCheck(component, check)))
    for (const result of results) {
      const previous = this.lastUp.get(result.component)
      this.lastUp.set(result.component, result.up)
      if (previous !== undefined && previous !== result.up) this.events.emit('health', result)
    }
    return results
  }
}

/** Lag beyond which the event loop counts as down when MAX_EVENT_LOOP_DELAY_MS is off (0). */
const DEFAULT_EVENT_LOOP_LIMIT_MS = 1_000

export default fp(
  async function healthPlugin(app: FastifyInstance) {
    const registry = new HealthRegistry(app.events)
    registry.register('database', databaseCheck(app.db), { readiness: true })
    if (app.redis) registry.register('redis', redisCheck(app.redis), { readiness: true })
    registry.register('disk', diskCheck(app.disk, app.config.dataDir))
    const maxDelayMs = app.config.maxEventLoopDelayMs || DEFAULT_EVENT_LOOP_LIMIT_MS
    registry.register(EVENT_LOOP_COMPONENT, eventLoopCheck(app.eventLoop, maxDelayMs))
    app.decorate('health', registry)
    app.jobs.define(
      healthCheckJob({
        health: registry,
        metrics: app.metrics,
        eventLoop: app.eventLoop,
        log: app.log.child({ component: 'jobs' }),
      }),
    )
    const typed = app.withTypeProvider<TypeBoxTypeProvider>()

    typed.get(
      '/health/live',
      {
        config: { access: 'public' },
        logLevel: 'warn',
        schema: {
          tags: ['health'],
          summary: 'The process is up',
          response: { 200: Type.Object({ status: Type.Literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    )

    typed.get(
      '/health/ready',
      {
        config: { access: 'public' },
        logLevel: 'warn',
        schema: {
          tags: ['health'],
          summary: 'Ready for traffic: the database and Redis (when configured) answer',
          description:
            'Public, so it names what fails and why as a code only; GET /api/health (viewers) has the details.',
          response: { 200: ReadinessView, 503: ReadinessView },
        },
      },
      async (_request, reply) => {
        const components = await registry.check({ readinessOnly: true })
        const failing = components
          .filter((c) => !c.up)
          .map((c) => ({ component: c.component, code: c.code ?? ('error' as const) }))
        if (failing.length) reply.code(503).header('retry-after', '5')
        return { status: failing.length ? ('unavailable' as const) : ('ok' as const), failing }
      },
    )

    typed.get(
      '/api/health',
      {
        config: { access: 'viewer' },
        schema: { tags: ['health'], summary: 'Every component with its latency', response: { 200: HealthView } },
      },
      async () => {
        const components = await registry.check()
        return { status: components.every((c) => c.up) ? ('ok' as const) : ('unavailable' as const), components }
      },
    )
  },
  { name: 'health', dependencies: ['database', 'redis', 'probes', 'metrics-registry', 'jobs', 'auth'] },
)
