import type { FastifyInstance } from 'fastify'
import { buildHistory, EMPTY_HISTORY } from './history.js'
import type { LiveHub } from './hub.js'
import { LIVE_PATH } from '../contract/live.js'

/**
 * `GET /api/live`: the auth hook has already run on the upgrade request (viewer or admin,
 * bearer token or session cookie), so the handler only greets the peer and sends the
 * recent history; everything after comes from the hub's broadcasts.
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
