import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { formatDuration, parseDuration } from '../../../alerts/duration.js'
import { nextStart, occurrenceAt, recurrenceProblem } from '../../../alerts/maintenance.js'
import { badRequest, notFound } from '../../errors.js'
import { ErrorResponse, IdParams } from '../../contract/common.js'
import {
  MaintenanceWindowBody,
  MaintenanceWindowPatch,
  MaintenanceWindowView,
  type MaintenanceWindowInput,
} from '../../contract/alerts.js'
import { checkMatchers } from './matcher-check.js'
import { toEngineWindow, type WindowInput, type WindowRow } from '../evaluation/window-repository.js'

type Fields = { [K in keyof MaintenanceWindowInput]?: MaintenanceWindowInput[K] | null }

const invalid = (message: string) => badRequest(`body/${message}`, 'validation_error')

/** Checks a window's fields as a whole: one-off xor recurring, times in order, cron and timezone valid. */
function windowInput(body: Fields, now: number): WindowInput {
  checkMatchers(body.matchers ?? [], 'body/matchers')
  const comment = (body.comment ?? '').trim()
  if (!comment) throw invalid('comment is required (the reason for the window)')
  const name = (body.name ?? '').trim()
  if (!name) throw invalid('name is required')
  const base = { name, matchers: body.matchers!, comment }
  const oneOff = body.startsAt != null || body.endsAt != null
  const recurring = body.cron != null || body.duration != null || body.timezone != null
  if (oneOff && recurring)
    throw invalid('a window is one-off (startsAt, endsAt) or recurring (cron, duration, timezone), not both')
  if (recurring) {
    if (body.cron == null || body.duration == null) throw invalid('a recurring window needs cron and duration')
    const durationMs = parseDuration(body.duration)
    if (!durationMs) throw invalid('duration must be longer than 0s')
    const timezone = body.timezone ?? 'UTC'
    const problem = recurrenceProblem(body.cron, timezone)
    if (problem) throw invalid(problem)
    return { ...base, startsAt: null, endsAt: null, cron: body.cron.trim(), durationMs, timezone }
  }
  if (body.startsAt == null || body.endsAt == null)
    throw invalid('a window needs startsAt and endsAt, or cron and duration')
  const startsAt = new Date(body.startsAt)
  const endsAt = new Date(body.endsAt)
  if (endsAt <= startsAt) throw invalid('endsAt must be after startsAt')
  if (endsAt.getTime() <= now) throw invalid('endsAt must be in the future')
  return { ...base, startsAt, endsAt, cron: null, durationMs: null, timezone: null }
}

function fieldsOf(row: WindowRow): Fields {
  return {
    name: row.name,
    matchers: row.matchers,
    comment: row.comment,
    startsAt: row.starts_at?.toISOString() ?? null,
    endsAt: row.ends_at?.toISOString() ?? null,
    cron: row.cron,
    duration: row.duration_ms === null ? null : formatDuration(Number(row.duration_ms)),
    timezone: row.timezone,
  }
}

const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(ms).toISOString())

export function windowView(row: WindowRow, now: number) {
  const engine = toEngineWindow(row)
  const occurrence = occurrenceAt(engine, now)
  return {
    id: row.id,
    name: row.name,
    matchers: row.matchers,
    comment: row.comment,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    cron: row.cron,
    duration: row.duration_ms === null ? null : formatDuration(Number(row.duration_ms)),
    timezone: row.timezone,
    activeNow: occurrence !== null,
    activeUntil: iso(occurrence?.end),
    nextStart: iso(nextStart(engine, now)),
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

function audited(input: WindowInput) {
  const { durationMs, ...rest } = input
  return { ...rest, duration: durationMs === null ? null : formatDuration(durationMs) }
}

/**
 * Maintenance windows: matching alerts are evaluated as ever, but what they would notify is
 * recorded as 'suppressed' and sent when the window ends if they still fire.
 */
export const windowRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { windows, changes } = app.alerts
  const One = Type.Object({ window: MaintenanceWindowView })

  app.get(
    '/api/maintenance-windows',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary: 'Maintenance windows, newest first, with whether each is active now and its next start',
        response: { 200: Type.Object({ windows: Type.Array(MaintenanceWindowView) }) },
      },
    },
    async () => {
      const now = Date.now()
      return { windows: (await windows.list()).map((r) => windowView(r, now)) }
    },
  )

  app.get(
    '/api/maintenance-windows/:id',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary: 'One maintenance window',
        params: IdParams,
        response: { 200: One, 404: ErrorResponse },
      },
    },
    async (request) => {
      const row = await windows.get(request.params.id)
      if (!row) throw notFound(`Maintenance window ${request.params.id}`)
      return { window: windowView(row, Date.now()) }
    },
  )

  app.post(
    '/api/maintenance-windows',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary: 'Create a maintenance window (the author is the token)',
        body: MaintenanceWindowBody,
        response: { 201: One, 400: ErrorResponse },
      },
    },
    async (request, reply) => {
      const now = Date.now()
      const input = windowInput(request.body, now)
      const row = await windows.create({ ...input, createdBy: request.principal!.name })
      changes.publish('windows')
      await app.audit.record(request, { action: 'maintenance-window.create', target: row.id, params: audited(input) })
      return reply.code(201).send({ window: windowView(row, now) })
    },
  )

  app.patch(
    '/api/maintenance-windows/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary: 'Change a maintenance window (the fields given; null clears one)',
        params: IdParams,
        body: MaintenanceWindowPatch,
        response: { 200: One, 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const now = Date.now()
      const stored = await windows.get(request.params.id)
      if (!stored) throw notFound(`Maintenance window ${request.params.id}`)
      const merged = { ...fieldsOf(stored), ...request.body }
      // Switching kinds: the fields of the other kind go unless the patch names them.
      if (request.body.cron != null && request.body.startsAt === undefined) merged.startsAt = merged.endsAt = null
      if (request.body.startsAt != null && request.body.cron === undefined)
        merged.cron = merged.duration = merged.timezone = null
      const input = windowInput(merged, now)
      const row = await windows.update(stored.id, input)
      if (!row) throw notFound(`Maintenance window ${request.params.id}`)
      changes.publish('windows')
      await app.audit.record(request, { action: 'maintenance-window.update', target: row.id, params: audited(input) })
      return { window: windowView(row, now) }
    },
  )

  app.delete(
    '/api/maintenance-windows/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary: 'Delete a maintenance window (what it suppressed stays in the notification log)',
        params: IdParams,
        response: { 200: One, 404: ErrorResponse },
      },
    },
    async (request) => {
      const row = await windows.delete(request.params.id)
      if (!row) throw notFound(`Maintenance window ${request.params.id}`)
      changes.publish('windows')
      await app.audit.record(request, { action: 'maintenance-window.delete', target: row.id })
      return { window: windowView(row, Date.now()) }
    },
  )
}
