import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { conflict, notFound } from '../../errors.js'
import { ErrorResponse } from '../../contract/common.js'
import { NotificationView } from '../../contract/alerts.js'
import { toRoutingReceiver } from '../notification/receiver-repository.js'
import { notificationView } from './views.js'

const NotificationIdParams = Type.Object({
  id: Type.String({ pattern: '^[0-9]{1,18}$', description: 'Notification id' }),
})

/** The dead-letter list's action: a failed notification sent again. */
export const notificationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { outbox, receivers, worker } = app.alerts

  app.post(
    '/api/alerts/notifications/:id/resend',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary:
          'Send a failed notification again, rendered for its receiver as it is now, with a fresh retry window (409 unless failed)',
        params: NotificationIdParams,
        response: { 200: Type.Object({ notification: NotificationView }), 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => {
      const row = await outbox.get(request.params.id)
      if (!row) throw notFound(`Notification ${request.params.id}`)
      if (row.status !== 'failed')
        throw conflict(`Notification ${row.id} is ${row.status}; only failed ones are resent`)
      const receiver = row.receiver_id ? await receivers.get(row.receiver_id) : null
      if (!receiver) throw conflict(`The receiver of notification ${row.id} was deleted`)
      const resent = await outbox.resend(row, toRoutingReceiver(receiver), Date.now())
      if (!resent) throw conflict(`Notification ${row.id} is no longer failed`)
      worker.kick()
      await app.audit.record(request, {
        action: 'alert_notification.resend',
        target: row.id,
        params: { receiver: receiver.name, reason: row.reason },
        detail: { previousError: row.last_error, attempts: row.attempts },
      })
      return { notification: notificationView(resent) }
    },
  )
}
