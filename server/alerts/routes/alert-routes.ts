import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { notFound } from '../../errors.js'
import { ErrorResponse } from '../../contract/common.js'
import { listHistory } from '../evaluation/history-repository.js'
import {
  AlertEventView,
  AlertView,
  FingerprintParams,
  NotificationStatus,
  NotificationView,
} from '../../contract/alerts.js'
import { alertEventView, alertView, notificationView } from './views.js'

const Keyset = {
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  before: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'The last id of the previous page' })),
}

/** Current alerts, their history, acknowledgements and the notifications sent about them. */
export const alertRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { alerts } = app

  app.get(
    '/api/alerts',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary: 'Pending and firing alerts with value, since, labels, annotations, silenced and acknowledged',
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('firing')])),
            severity: Type.Optional(Type.String({ maxLength: 20 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ alerts: Type.Array(AlertView) }) },
      },
    },
    async (request) => {
      const now = Date.now()
      const [states, silences] = await Promise.all([alerts.states.load(), alerts.silences.current(now)])
      const { state, severity } = request.query
      const selected = states.filter((s) => (!state || s.state === state) && (!severity || s.severity === severity))
      return { alerts: selected.map((s) => alertView(s, silences, now)) }
    },
  )

  app.get(
    '/api/alerts/history',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary: 'Alert transitions and acknowledgements, newest first (keyset pagination: pass nextBefore as before)',
        querystring: Type.Object(
          {
            ...Keyset,
            rule: Type.Optional(Type.String({ maxLength: 100 })),
            fingerprint: Type.Optional(Type.String({ pattern: '^[0-9a-f]{16}$' })),
            state: Type.Optional(
              Type.Union(['pending', 'firing', 'inactive', 'resolved', 'acknowledged'].map((s) => Type.Literal(s))),
            ),
            severity: Type.Optional(Type.String({ maxLength: 20 })),
            since: Type.Optional(Type.String({ format: 'date-time' })),
            until: Type.Optional(Type.String({ format: 'date-time' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            events: Type.Array(AlertEventView),
            nextBefore: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { since, until, state, ...rest } = request.query
      const rows = await listHistory(app.db, {
        ...rest,
        state: state as never,
        since: since ? new Date(since) : undefined,
        until: until ? new Date(until) : undefined,
      })
      return { events: rows.map(alertEventView), nextBefore: rows.length === rest.limit ? rows.at(-1)!.id : null }
    },
  )

  app.post(
    '/api/alerts/:fingerprint/ack',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary:
          'Acknowledge an alert: no more notifications about it until it resolves (its resolution is still sent)',
        params: FingerprintParams,
        body: Type.Object({ comment: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ alert: AlertView }), 404: ErrorResponse },
      },
    },
    async (request) => {
      const { fingerprint } = request.params
      const by = request.principal!.name
      const state = await alerts.states.acknowledge(fingerprint, { by, comment: request.body.comment, at: new Date() })
      if (!state) throw notFound(`Active alert ${fingerprint}`)
      alerts.changes.publish('states')
      const now = Date.now()
      app.events.emit('alert', {
        fingerprint,
        rule: state.rule,
        severity: state.severity,
        labels: state.labels,
        annotations: state.annotations,
        from: state.state,
        to: 'acknowledged',
        value: state.value,
        at: new Date(now).toISOString(),
        by,
        comment: request.body.comment,
      })
      await app.audit.record(request, {
        action: 'alert.ack',
        target: fingerprint,
        params: { rule: state.rule, comment: request.body.comment },
      })
      return { alert: alertView(state, await alerts.silences.current(now), now) }
    },
  )

  app.get(
    '/api/alerts/notifications',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary:
          'Notifications: delivered, pending (with the next attempt), failed (with attempts and the last error) and suppressed by a maintenance window',
        querystring: Type.Object(
          {
            ...Keyset,
            status: Type.Optional(NotificationStatus),
            receiver: Type.Optional(Type.String({ maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            notifications: Type.Array(NotificationView),
            nextBefore: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const rows = await alerts.outbox.list(request.query)
      return {
        notifications: rows.map(notificationView),
        nextBefore: rows.length === request.query.limit ? rows.at(-1)!.id : null,
      }
    },
  )
}
