import type { FastifyInstance } from 'fastify'
import { AppError } from '../errors.js'
import { buildHistory, EMPTY_HISTORY } from './history.js'
import type { LiveHub, LiveRefusal } from './hub.js'
import { LIVE_PATH } from '../contract/live.js'

function refused(refusal: LiveRefusal, hub: LiveHub): AppError {
  const { maxConnections, maxConnectionsPerToken } = hub.limits
  return refusal === 'token-full'
    ? new AppError(
        429,
        'too_many_connections',
        `This token already has ${maxConnectionsPerToken} live connections open on this instance (LIVE_MAX_CONNECTIONS_PER_TOKEN); close one (another tab or dashboard) and retry`,
        { 'retry-after': '30' },
      )
    : new AppError(
        503,
        'too_many_connections',
        `This instance already serves ${maxConnections} live connections (LIVE_MAX_CONNECTIONS); retry later`,
        { 'retry-after': '30' },
      )
}

/**
 * `GET /api/live`: the auth hook has already run on the upgrade request (viewer or admin,
 * bearer token or session cookie; a cookie from a foreign Origin is refused), the caps are
 * checked before the upgrade, so the handler only greets the peer and sends the recent
 * history; everything after comes from the hub's broadcasts.
 */
export async function liveRoute(
  app: FastifyInstance,
  options: { hub: LiveHub; historyMinutes: number },
): Promise<void> {
  const { hub, historyMinutes } = options
  const { config } = app

  app.get(
    LIVE_PATH,
    {
      websocket: true,
      config: { access: 'viewer' },
      // Before the upgrade, so that a refusal is an HTTP answer (429/503) the client can read.
      preHandler: async (request) => {
        if (!request.ws) return // a plain GET, answered 404 by @fastify/websocket
        const refusal = hub.admit(request.principal!, request.raw.socket)
        if (refusal) throw refused(refusal, hub)
      },
      schema: {
        tags: ['live'],
        summary: 'Live dashboard feed (WebSocket): history, a snapshot per sample, app events',
      },
    },
    (socket, request) => {
      const principal = request.principal!
      const peer = hub.add(socket, principal)
      const now = Date.now()
      hub.send(peer, {
        type: 'hello',
        data: {
          instance: config.instanceId,
          serverTime: now,
          sampleIntervalMs: config.metrics.sampleIntervalMs,
          heartbeatIntervalMs: hub.limits.heartbeatIntervalMs,
          historyMinutes,
          principal: { name: principal.name, role: principal.role },
        },
      })
      const history = app.hasDecorator('series')
        ? buildHistory(app.series, now - historyMinutes * 60_000)
        : EMPTY_HISTORY
      hub.send(peer, { type: 'history', data: history })
    },
  )
}
