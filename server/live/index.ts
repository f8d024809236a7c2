import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import fastifyWebsocket from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import { RedisFanout } from './fanout.js'
import { DEFAULT_LIVE_LIMITS, LiveHub } from './hub.js'
import type { AuditEntry } from '../db/schema.js'
import type { JobEvent } from '../contract/jobs.js'
import { type AlertEventDto, type EventMessage, type HealthEvent, type LiveEventName } from '../contract/live.js'
import { liveRoute } from './route.js'

declare module 'fastify' {
  interface FastifyInstance {
    live: LiveHub
  }
}

/** Minutes of history a dashboard receives on connect. */
export const HISTORY_MINUTES = 15

/**
 * The live hub: `GET /api/live` for dashboards, fed by the sampler's snapshots and by every
 * other app event; with Redis, events of every instance reach every instance's dashboards.
 */
export default fp(
  async function livePlugin(app: FastifyInstance) {
    const { config } = app
    // Dashboards send nothing; a small payload limit keeps a misbehaving client cheap.
    await app.register(fastifyWebsocket, { options: { maxPayload: 4096 } })

    // An upgrade refused before the route (401/403 from the auth hook) leaves a socket Node no
    // longer reads from; without this it would hold the server open on close.
    app.addHook('onResponse', async (request) => {
      if (request.headers.upgrade?.toLowerCase() === 'websocket') request.raw.socket.destroySoon()
    })

    const hub = new LiveHub({
      limits: { ...DEFAULT_LIVE_LIMITS, ...config.live },
      log: app.log,
      onCountChange: (n) => app.metrics.websocketActiveConnections.set(n),
      isActive: async (principal) =>
        principal.session
          ? (await app.dashboardSessions.findActive(principal.session.id, new Date())) !== undefined
          : (await app.tokens.findActiveById(principal.tokenId)) !== undefined,
    })
    app.decorate('live', hub)
    // A token revoked or a session signed out, here or on another instance: its sockets close now.
    const onCredentialsEnded = hub.closeEnded.bind(hub)
    app.events.on('credentials-ended', onCredentialsEnded)

    const deliver = (message: EventMessage) => hub.broadcast(message)
    const fanout = app.redis
      ? new RedisFanout(app.redis, `${config.cachePrefix}live:events`, randomUUID(), deliver, app.log)
      : null

    const onSnapshot = hub.broadcastSnapshot.bind(hub)
    app.events.on('snapshot', onSnapshot)
    // Only the events the contract declares go out, each mapped to its wire DTO.
    const send = (message: EventMessage) => {
      deliver(message)
      fanout?.publish(message)
    }
    const instance = config.instanceId
    const listeners: { [K in LiveEventName]: (payload: never) => void } & {
      audit: (entry: AuditEntry) => void
      health: (data: HealthEvent) => void
      alert: (data: AlertEventDto) => void
      job: (data: JobEvent) => void
    } = {
      audit: (entry: AuditEntry) =>
        send({ type: 'audit', instance, data: { ...entry, at: new Date(entry.at).toISOString() } }),
      health: (data: HealthEvent) => send({ type: 'health', instance, data }),
      alert: (data: AlertEventDto) => send({ type: 'alert', instance, data }),
      job: (data: JobEvent) => send({ type: 'job', instance, data }),
    }
    app.events.on('audit', listeners.audit)
    app.events.on('health', listeners.health)
    app.events.on('alert', listeners.alert)
    app.events.on('job', listeners.job)
    const stopObserving = () => {
      app.events.off('audit', listeners.audit)
      app.events.off('health', listeners.health)
      app.events.off('alert', listeners.alert)
      app.events.off('job', listeners.job)
    }

    const heartbeat = setInterval(() => {
      hub.heartbeat().catch((err: unknown) => app.log.warn({ err }, 'live: heartbeat round failed'))
    }, hub.limits.heartbeatIntervalMs)
    heartbeat.unref()

    app.addHook('onReady', async () => {
      // The sampler may be registered after this plugin, so look for it once all are in.
      if (app.hasDecorator('sampler')) {
        app.sampler.addSource('live', () => [{ name: 'websocket_connections', labels: {}, value: hub.size }])
      }
      await fanout?.start()
    })
    app.addHook('preClose', async () => hub.closeAll(1001, 'server shutting down'))
    app.addHook('onClose', async () => {
      clearInterval(heartbeat)
      app.events.off('snapshot', onSnapshot)
      app.events.off('credentials-ended', onCredentialsEnded)
      stopObserving()
      hub.terminateAll()
      await fanout?.stop()
    })

    await app.register(liveRoute, { hub, historyMinutes: HISTORY_MINUTES })
  },
  { name: 'live', dependencies: ['auth', 'metrics-registry', 'metrics', 'redis'] },
)
