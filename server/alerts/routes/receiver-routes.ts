import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { parseDuration } from '../../../alerts/duration.js'
import { fingerprint } from '../../../alerts/labels.js'
import { groupKey } from '../../../alerts/payload.js'
import { badRequest, conflict, notFound } from '../../errors.js'
import { ErrorResponse, IdParams } from '../../contract/common.js'
import { toRoutingReceiver, type ReceiverInput, type ReceiverRow } from '../notification/receiver-repository.js'
import { checkMatchers } from './matcher-check.js'
import {
  NotificationView,
  ReceiverBody,
  ReceiverUpdateBody,
  ReceiverView,
  type ReceiverUpdateInput,
} from '../../contract/alerts.js'
import { describeRefusal, type ReceiverAddressPolicy } from '../notification/receiver-address.js'
import { signingSecretProblem } from '../notification/signature.js'
import { receiverKinds } from '../notification/kinds/index.js'
import { isMaskedUrl, maskUrl, notificationView, receiverView } from './views.js'

const MAX_GROUP_WAIT_MS = 3_600_000

/** A URL an admin gave: valid, not the masked form of a read, and to a host the address policy allows. */
async function checkUrl(url: string, addresses: ReceiverAddressPolicy): Promise<void> {
  // The message never repeats the URL: its path may be the webhook's secret, and 4xx messages are logged.
  if (!URL.canParse(url)) throw badRequest('body/url is not a valid URL', 'validation_error')
  if (isMaskedUrl(url))
    throw badRequest(
      'body/url is the masked form a read shows, not a URL; omit url to keep the stored one',
      'validation_error',
    )
  const refusal = await addresses.checkUrl(url)
  if (refusal) throw badRequest(`body/url names ${describeRefusal(refusal)}`, 'validation_error')
}

/** The receiver a body describes, with what its kind makes of it (an update passes the stored row). */
export function receiverInput(
  body: ReceiverUpdateInput,
  stored: ReceiverRow | null,
): { input: ReceiverInput; credential: string | null | undefined } {
  const kind = body.kind ?? 'webhook'
  const { url, settings, credential } = receiverKinds[kind].validate(body, stored)
  const secretProblem = typeof body.secret === 'string' ? signingSecretProblem(body.secret) : null
  if (secretProblem) throw badRequest(`body/secret ${secretProblem}`, 'validation_error')
  checkMatchers(body.matchers, 'body/matchers')
  const groupWaitMs = parseDuration(body.groupWait ?? '0s') ?? 0
  if (groupWaitMs > MAX_GROUP_WAIT_MS) throw badRequest('body/groupWait must be at most 1h', 'validation_error')
  const input: ReceiverInput = {
    name: body.name,
    kind,
    format: body.format ?? 'alertmanager',
    url,
    settings,
    severities: body.severities ?? [],
    matchers: body.matchers ?? [],
    sendResolved: body.sendResolved ?? true,
    groupBy: body.groupBy ?? ['alertname'],
    groupWaitMs,
    enabled: body.enabled ?? true,
  }
  return { input, credential: stored && stored.kind !== kind && credential === undefined ? null : credential }
}

/**
 * The fallback a body names, as an id: it must exist, not be the receiver itself, and not lead
 * back to it through the fallbacks of others. undefined keeps the stored one.
 */
export function fallbackOf(
  name: string | null | undefined,
  self: { id: string | null; name: string },
  all: readonly ReceiverRow[],
): string | null | undefined {
  if (name === undefined || name === null) return name
  if (name === self.name) throw badRequest('body/fallback cannot be the receiver itself', 'validation_error')
  const target = all.find((r) => r.name === name)
  if (!target) throw badRequest(`body/fallback names no receiver: ${name}`, 'validation_error')
  const byId = new Map(all.map((r) => [r.id, r]))
  const seen = new Set<string>()
  for (let at: ReceiverRow | undefined = target; at; at = at.fallback_id ? byId.get(at.fallback_id) : undefined) {
    if (at.id === self.id || seen.has(at.id))
      throw badRequest(
        `body/fallback ${name} leads back to ${self.name}: fallbacks cannot form a cycle`,
        'validation_error',
      )
    seen.add(at.id)
  }
  return target.id
}

/**
 * Where notifications go. A receiver's secret and its URL's path, query and credentials are
 * write-only: responses say hasSecret and show scheme and host.
 */
export const receiverRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { receivers, receiverAddresses, outbox, worker, changes } = app.alerts
  const One = Type.Object({ receiver: ReceiverView })
  const viewOf = async (row: ReceiverRow) => {
    const fallback = row.fallback_id ? await receivers.get(row.fallback_id) : null
    return receiverView(row, new Map(fallback ? [[fallback.id, fallback.name]] : []))
  }
  const audited = (row: ReceiverRow) => ({
    name: row.name,
    kind: row.kind,
    format: row.format,
    url: maskUrl(row.url),
    hasSecret: row.secret !== null,
    hasCredential: row.credential !== null,
    fallbackId: row.fallback_id,
    enabled: row.enabled,
  })

  app.get(
    '/api/alerts/receivers',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary: 'Notification receivers',
        response: { 200: Type.Object({ receivers: Type.Array(ReceiverView) }) },
      },
    },
    async () => {
      const all = await receivers.list()
      const names = new Map(all.map((r) => [r.id, r.name]))
      return { receivers: all.map((r) => receiverView(r, names)) }
    },
  )

  app.get(
    '/api/alerts/receivers/:id',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary: 'One receiver',
        params: IdParams,
        response: { 200: One, 404: ErrorResponse },
      },
    },
    async (request) => {
      const row = await receivers.get(request.params.id)
      if (!row) throw notFound(`Receiver ${request.params.id}`)
      return { receiver: await viewOf(row) }
    },
  )

  app.post(
    '/api/alerts/receivers',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary: 'Add a receiver',
        body: ReceiverBody,
        response: { 201: One, 400: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { input, credential } = receiverInput(request.body, null)
      await checkUrl(input.url, receiverAddresses)
      const fallbackId = fallbackOf(request.body.fallback, { id: null, name: input.name }, await receivers.list())
      const row = await receivers.create(input, request.body.secret ?? null, 'api', { credential, fallbackId })
      if (!row) throw conflict(`A receiver named ${request.body.name} exists`)
      changes.publish('receivers')
      await app.audit.record(request, { action: 'alert_receiver.create', target: row.id, params: audited(row) })
      return reply.code(201).send({ receiver: await viewOf(row) })
    },
  )

  app.put(
    '/api/alerts/receivers/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary: 'Replace a receiver (omit url or secret to keep it; secret null removes it)',
        params: IdParams,
        body: ReceiverUpdateBody,
        response: { 200: One, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => {
      const stored = await receivers.get(request.params.id)
      if (!stored) throw notFound(`Receiver ${request.params.id}`)
      const { input, credential } = receiverInput(request.body, stored)
      const urlChanged = input.url !== stored.url
      if (urlChanged) await checkUrl(input.url, receiverAddresses)
      const all = await receivers.list()
      const clash = all.find((r) => r.name === input.name && r.id !== request.params.id)
      if (clash) throw conflict(`A receiver named ${input.name} exists`)
      const fallbackId = fallbackOf(request.body.fallback, { id: stored.id, name: input.name }, all)
      const row = await receivers.update(request.params.id, input, request.body.secret, { credential, fallbackId })
      if (!row) throw notFound(`Receiver ${request.params.id}`)
      changes.publish('receivers')
      await app.audit.record(request, {
        action: 'alert_receiver.update',
        target: row.id,
        params: {
          ...audited(row),
          urlChanged,
          secretChanged: request.body.secret !== undefined,
          credentialChanged: credential !== undefined,
        },
      })
      return { receiver: await viewOf(row) }
    },
  )

  app.delete(
    '/api/alerts/receivers/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary: 'Delete a receiver (its undelivered notifications are marked failed)',
        params: IdParams,
        response: { 200: One, 404: ErrorResponse },
      },
    },
    async (request) => {
      const row = await receivers.remove(request.params.id)
      if (!row) throw notFound(`Receiver ${request.params.id}`)
      changes.publish('receivers')
      await app.audit.record(request, { action: 'alert_receiver.delete', target: row.id, params: audited(row) })
      return { receiver: await viewOf(row) }
    },
  )

  app.post(
    '/api/alerts/receivers/:id/test',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary:
          'Send a test notification now; the answer shows whether it was delivered (failed ones are retried like any other)',
        params: IdParams,
        response: { 200: Type.Object({ notification: NotificationView }), 404: ErrorResponse },
      },
    },
    async (request) => {
      const receiver = await receivers.get(request.params.id)
      if (!receiver) throw notFound(`Receiver ${request.params.id}`)
      const now = Date.now()
      const labels = { alertname: 'TestNotification', receiver: receiver.name, severity: 'info' }
      const annotations = {
        summary: 'Test notification from chat-control-plane',
        description: `Sent by ${request.principal!.name} to check this receiver.`,
      }
      const alert = {
        fingerprint: fingerprint(labels),
        status: 'firing' as const,
        labels,
        annotations,
        startsAt: now,
        endsAt: null,
      }
      const groupLabels = { alertname: 'TestNotification' }
      const [id] = await outbox.enqueue(
        app.db,
        [
          {
            receiver: toRoutingReceiver(receiver),
            groupLabels,
            groupKey: groupKey(groupLabels),
            reason: 'test',
            alerts: [alert],
          },
        ],
        now,
        { holdMs: worker.leaseMs() },
      )
      const row = await worker.deliverNow(id!)
      await app.audit.record(request, {
        action: 'alert_receiver.test',
        target: receiver.id,
        params: { name: receiver.name },
        detail: { status: row?.status, error: row?.last_error },
      })
      return { notification: notificationView(row!) }
    },
  )
}
