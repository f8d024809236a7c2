import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { backtest } from '../../../alerts/backtest.js'
import { AlertRuleSchema, type AlertRule } from '../../../alerts/rule.js'
import { badRequest, conflict, notFound } from '../../errors.js'
import { ErrorResponse } from '../../contract/common.js'
import { ruleValidatorCompiler } from './rule-validator.js'
import { BacktestView, RuleNameParams } from '../../contract/alerts.js'

const RuleView = Type.Unsafe<AlertRule>(AlertRuleSchema)
const One = Type.Object({ rule: RuleView })
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** Rules CRUD. Bodies are validated by the engine's validateRule (errors name the field). */
export const ruleRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { rules, changes } = app.alerts

  app.get(
    '/api/alerts/rules',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary: 'Alert rules',
        response: { 200: Type.Object({ rules: Type.Array(RuleView) }) },
      },
    },
    async () => ({ rules: await rules.list() }),
  )

  app.get(
    '/api/alerts/rules/:name',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary: 'One alert rule',
        params: RuleNameParams,
        response: { 200: One, 404: ErrorResponse },
      },
    },
    async (request) => {
      const rule = await rules.get(request.params.name)
      if (!rule) throw notFound(`Rule ${request.params.name}`)
      return { rule }
    },
  )

  app.post(
    '/api/alerts/rules',
    {
      config: { access: 'admin' },
      validatorCompiler: ruleValidatorCompiler('body'),
      schema: {
        tags: ['alerts'],
        summary: 'Create an alert rule (evaluated from the next snapshot on)',
        body: RuleView,
        response: { 201: One, 400: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const created = await rules.create(request.body)
      if (!created)
        throw conflict(
          `A rule named ${request.body.name} exists; PUT /api/alerts/rules/${request.body.name} changes it`,
        )
      changes.publish('rules')
      await app.audit.record(request, { action: 'alert_rule.create', target: created.name, params: { rule: created } })
      return reply.code(201).send({ rule: created })
    },
  )

  app.put(
    '/api/alerts/rules/:name',
    {
      config: { access: 'admin' },
      validatorCompiler: ruleValidatorCompiler('body'),
      schema: {
        tags: ['alerts'],
        summary: 'Replace an alert rule',
        params: RuleNameParams,
        body: RuleView,
        response: { 200: One, 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      if (request.body.name !== request.params.name)
        throw badRequest(`body/name must be ${request.params.name}, the name in the URL`, 'validation_error')
      const before = await rules.get(request.params.name)
      const rule = await rules.replace(request.body)
      if (!rule) throw notFound(`Rule ${request.params.name}`)
      changes.publish('rules')
      await app.audit.record(request, {
        action: 'alert_rule.update',
        target: rule.name,
        params: { rule },
        detail: { before },
      })
      return { rule }
    },
  )

  app.delete(
    '/api/alerts/rules/:name',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary: 'Delete an alert rule (its firing alerts resolve at the next snapshot)',
        params: RuleNameParams,
        response: { 200: One, 404: ErrorResponse },
      },
    },
    async (request) => {
      const rule = await rules.remove(request.params.name)
      if (!rule) throw notFound(`Rule ${request.params.name}`)
      changes.publish('rules')
      await app.audit.record(request, { action: 'alert_rule.delete', target: rule.name, detail: { before: rule } })
      return { rule }
    },
  )

  app.post(
    '/api/alerts/rules/preview',
    {
      config: { access: 'viewer' },
      validatorCompiler: ruleValidatorCompiler('body.rule'),
      schema: {
        tags: ['alerts'],
        summary: 'Backtest a rule over the in-memory series: when it would have fired and resolved',
        body: Type.Object({
          rule: RuleView,
          minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440, default: 60 })),
        }),
        response: {
          200: BacktestView,
          400: ErrorResponse,
        },
      },
    },
    async (request) => {
      const { rule, minutes = 60 } = request.body
      const to = app.sampler.latest()?.at ?? Date.now()
      const from = to - minutes * 60_000
      const result = backtest(rule, app.series, from, to)
      return {
        from: iso(from)!,
        to: iso(to)!,
        evaluations: result.evaluations,
        signalFound: app.series.names().includes(rule.signal),
        firing: result.firing.map((f) => ({
          fingerprint: f.fingerprint,
          labels: f.labels,
          firedAt: iso(f.firedAt)!,
          resolvedAt: iso(f.resolvedAt),
        })),
        transitions: result.transitions.map((t) => ({
          at: iso(t.at)!,
          fingerprint: t.fingerprint,
          from: t.from,
          to: t.to,
          value: t.value,
        })),
      }
    },
  )
}
