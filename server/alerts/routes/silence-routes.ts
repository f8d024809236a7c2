import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { badRequest, notFound } from '../../errors.js'
import { ErrorResponse, IdParams } from '../../contract/common.js'
import { checkMatchers } from './matcher-check.js'
import { SilenceBody, SilenceView } from '../../contract/alerts.js'
import { silenceView } from './views.js'

import { matchesEverything, ruleAlertLabels } from '../../../alerts/silence.js'
import type { FastifyInstance } from 'fastify'

type SilenceBodyInput = {
  matchers: Array<{ name: string; op: '=' | '!=' | '=~' | '!~'; value: string }>
  startsAt?: string
  endsAt: string
  comment: string
  force?: boolean
}

/** A silence that would mute every current alert and every rule's alert needs `force: true`. */
async function guardAgainstSilencingEverything(app: FastifyInstance, body: SilenceBodyInput): Promise<void> {
  if (body.force) return
  const [rules, states] = await Promise.all([app.alerts.rules.list(), app.alerts.states.load()])
  const alerts = [...rules.map(ruleAlertLabels), ...states.map((s) => s.labels)]
  if (matchesEverything(body.matchers, alerts))
    throw badRequest(
      `body/matchers match every alert (all ${states.length} current and all ${rules.length} rules' alerts): narrow them, or send "force": true to silence everything`,
      'silences_everything',
    )
}

function silenceInput(body: SilenceBodyInput, now: number) {
  checkMatchers(body.matchers, 'body/matchers')
  const comment = body.comment.trim()
  if (!comment) throw badRequest('body/comment is required: say why (it is shown with the author)', 'validation_error')
  const startsAt = body.startsAt ? new Date(body.startsAt) : new Date(now)
  const endsAt = new Date(body.endsAt)
  if (endsAt <= startsAt) throw badRequest('body/endsAt must be after startsAt', 'validation_error')
  if (endsAt.getTime() <= now) throw badRequest('body/endsAt must be in the future', 'validation_error')
  return { matchers: body.matchers, startsAt, endsAt, comment }
}

/** Silences: label matchers and a time range during which matching alerts notify no one. */
export const silenceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { silences, changes } = app.alerts
  const One = Type.Object({ silence: SilenceView })

  app.get(
    '/api/silences',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary: 'Silences, newest first',
        querystring: Type.Object(
          {
            status: Type.Optional(
              Type.Union([Type.Literal('pending'), Type.Literal('active'), Type.Literal('expired')]),
            ),
            limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ silences: Type.Array(SilenceView) }) },
      },
    },
    async (request) => {
      const now = Date.now()
      const rows = await silences.list({ ...request.query, now })
      return { silences: rows.map((r) => silenceView(r, now)) }
    },
  )

  app.get(
    '/api/silences/:id',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary: 'One silence',
        params: IdParams,
        response: { 200: One, 404: ErrorResponse },
      },
    },
    async (request) => {
      const row = await silences.get(request.params.id)
      if (!row) throw notFound(`Silence ${request.params.id}`)
      return { silence: silenceView(row, Date.now()) }
    },
  )

  app.post(
    '/api/silences',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary: 'Create a silence (the author is the token)',
        body: SilenceBody,
        response: { 201: One, 400: ErrorResponse },
      },
    },
    async (request, reply) => {
      const now = Date.now()
      const input = silenceInput(request.body, now)
      await guardAgainstSilencingEverything(app, request.body)
      const row = await silences.create({ ...input, createdBy: request.principal!.name })
      changes.publish('silences')
      await app.audit.record(request, {
        action: 'silence.create',
        target: row.id,
        params: { ...input, force: request.body.force ?? false },
      })
      return reply.code(201).send({ silence: silenceView(row, now) })
    },
  )

  app.put(
    '/api/silences/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary: 'Change a silence',
        params: IdParams,
        body: SilenceBody,
        response: { 200: One, 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const now = Date.now()
      const input = silenceInput(request.body, now)
      await guardAgainstSilencingEverything(app, request.body)
      const row = await silences.update(request.params.id, input)
      if (!row) throw notFound(`Silence ${request.params.id}`)
      changes.publish('silences')
      await app.audit.record(request, {
        action: 'silence.update',
        target: row.id,
        params: { ...input, force: request.body.force ?? false },
      })
      return { silence: silenceView(row, now) }
    },
  )

  app.delete(
    '/api/silences/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary: 'Expire a silence now (it stays in the list as expired)',
        params: IdParams,
        response: { 200: One, 404: ErrorResponse },
      },
    },
    async (request) => {
      const now = Date.now()
      const row = await silences.expire(request.params.id, now)
      if (!row) throw notFound(`Silence ${request.params.id}`)
      changes.publish('silences')
      await app.audit.record(request, { action: 'silence.expire', target: row.id })
      return { silence: silenceView(row, now) }
    },
  )
}
