import type { TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'
import { validateRule, type FieldError } from '../../../alerts/rule.js'

/**
 * Route validation for rule bodies through the engine's own validateRule, so that an API
 * client gets the same field-level messages as a rules file (`body/for must be a duration
 * like 30s, 5m or 1h30m`). Other parts (params) are checked against their schema.
 * `at` says where the rule sits in the body: the body itself, or its `rule` property.
 */
export function ruleValidatorCompiler<S>(at: 'body' | 'body.rule'): FastifySchemaCompiler<S> {
  return ({ schema, httpPart }) => {
    if (httpPart !== 'body') return (data: unknown) => schemaCheck(schema as TSchema, data)
    if (at === 'body') return (data: unknown) => ruleCheck(data, '')
    return (data: unknown) => previewCheck(data)
  }
}

const toValidation = (errors: FieldError[]): FastifySchemaValidationError[] =>
  errors.map((e) => ({
    keyword: 'rule',
    instancePath: e.path === '/' ? '' : e.path,
    schemaPath: '',
    params: {},
    message: e.message,
  }))

function schemaCheck(schema: TSchema, data: unknown) {
  const errors = [...Value.Errors(schema, data)].map((e) => ({ path: e.path, message: e.message }))
  return errors.length ? { error: toValidation(errors) } : { value: data }
}

function ruleCheck(data: unknown, prefix: string) {
  const result = validateRule(data)
  if (result.ok) return { value: result.rule }
  return {
    error: toValidation(
      result.errors.map((e) => ({ path: `${prefix}${e.path === '/' ? '' : e.path}`, message: e.message })),
    ),
  }
}

function previewCheck(data: unknown) {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return { error: toValidation([{ path: '/', message: 'must be an object with a rule' }]) }
  const { rule, minutes = 60, ...extra } = data as Record<string, unknown>
  const unknown = Object.keys(extra)[0]
  if (unknown !== undefined) return { error: toValidation([{ path: `/${unknown}`, message: 'is not a known field' }]) }
  if (!Number.isInteger(minutes) || (minutes as number) < 1 || (minutes as number) > 1440) {
    return { error: toValidation([{ path: '/minutes', message: 'must be an integer from 1 to 1440' }]) }
  }
  if (rule === undefined) return { error: toValidation([{ path: '/rule', message: 'is required' }]) }
  const checked = ruleCheck(rule, '/rule')
  return 'error' in checked ? checked : { value: { rule: checked.value, minutes } }
}
