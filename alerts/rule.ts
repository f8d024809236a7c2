import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value, ValueErrorType } from '@sinclair/typebox/value'
import { parse, YAMLParseError } from 'yaml'
import { DURATION_PATTERN, parseDuration } from './duration.js'
import { LABEL_NAME_PATTERN } from './labels.js'
import { templateError } from './template.js'

/** An alert rule (README "Alerting"); `alerts/rules/default.yaml` documents the shape. */
const Duration = Type.String({
  pattern: DURATION_PATTERN,
  description: 'Prometheus-style duration: 30s, 5m, 1h30m, 0s',
})
/** Label maps of a rule: every alert of the rule carries them, so they stay small. */
const StringMap = (description: string) =>
  Type.Record(Type.String(), Type.String({ maxLength: 2000 }), { description, maxProperties: 64 })

export const COMPARISONS = ['>', '>=', '<', '<=', '==', '!='] as const
export const SEVERITIES = ['info', 'warning', 'critical'] as const
export const WINDOW_FUNCTIONS = ['avg', 'max', 'min'] as const

export const RULE_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,99}$'

export const AlertRuleSchema = Type.Object(
  {
    name: Type.String({ pattern: RULE_NAME_PATTERN, description: 'Becomes the alertname label' }),
    signal: Type.String({
      pattern: '^[a-z_][a-z0-9_]{0,99}$',
      description: 'A sampler signal (server/contract/signals.ts)',
    }),
    matchers: Type.Optional(StringMap('Only samples whose labels have these values')),
    over: Type.Optional(
      Type.Object(
        {
          window: Duration,
          fn: Type.Union([Type.Literal('avg'), Type.Literal('max'), Type.Literal('min')], {
            description: 'How the window is reduced',
          }),
        },
        {
          additionalProperties: false,
          description: 'Compare an aggregate of the recent samples instead of the latest one',
        },
      ),
    ),
    op: Type.Union(
      [
        Type.Literal('>'),
        Type.Literal('>='),
        Type.Literal('<'),
        Type.Literal('<='),
        Type.Literal('=='),
        Type.Literal('!='),
      ],
      { description: 'Comparison of the value against the threshold' },
    ),
    threshold: Type.Number(),
    for: Type.Optional(Duration),
    keepFiringFor: Type.Optional(Duration),
    repeatInterval: Type.Optional(Duration),
    severity: Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')], {
      description: 'Becomes the severity label',
    }),
    labels: Type.Optional(StringMap('Extra labels on the alert')),
    annotations: Type.Optional(StringMap('Templated with {{ $value }} and {{ $labels.name }}')),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)

export type AlertRuleInput = Static<typeof AlertRuleSchema>
/** A validated rule with every default filled in. */
export type AlertRule = Omit<Required<AlertRuleInput>, 'over'> & { over?: AlertRuleInput['over'] }
export type Comparison = (typeof COMPARISONS)[number]
export type Severity = (typeof SEVERITIES)[number]

export const RULE_DEFAULTS = { for: '0s', keepFiringFor: '0s', repeatInterval: '4h' } as const
const MAX_DURATION_MS = 7 * 86_400_000

/** A problem with one field: `path` is a JSON pointer into the rule (`/over/window`). */
export interface FieldError {
  path: string
  message: string
}

export type RuleValidation = { ok: true; rule: AlertRule } | { ok: false; errors: FieldError[] }

export function validateRule(input: unknown): RuleValidation {
  const schemaErrors = describeSchemaErrors(input)
  if (schemaErrors.length) return { ok: false, errors: schemaErrors }
  const raw = input as AlertRuleInput
  const rule: AlertRule = {
    name: raw.name,
    signal: raw.signal,
    matchers: raw.matchers ?? {},
    ...(raw.over ? { over: raw.over } : {}),
    op: raw.op,
    threshold: raw.threshold,
    for: raw.for ?? RULE_DEFAULTS.for,
    keepFiringFor: raw.keepFiringFor ?? RULE_DEFAULTS.keepFiringFor,
    repeatInterval: raw.repeatInterval ?? RULE_DEFAULTS.repeatInterval,
    severity: raw.severity,
    labels: raw.labels ?? {},
    annotations: raw.annotations ?? {},
    enabled: raw.enabled ?? true,
  }
  const errors = semanticErrors(rule)
  return errors.length ? { ok: false, errors } : { ok: true, rule }
}

/** Problems reported for one rule at most: a body of 100,000 unknown fields gets 20 lines, not 100,000. */
const MAX_REPORTED_ERRORS = 20

function describeSchemaErrors(input: unknown): FieldError[] {
  const errors: FieldError[] = []
  const seen = new Set<string>()
  for (const error of Value.Errors(AlertRuleSchema, input)) {
    if (seen.has(error.path)) continue
    seen.add(error.path)
    errors.push({ path: error.path || '/', message: describeError(error.type, error.schema, error.message) })
    if (errors.length === MAX_REPORTED_ERRORS) break
  }
  return errors
}

function describeError(type: ValueErrorType, schema: TSchema, fallback: string): string {
  if (type === ValueErrorType.ObjectRequiredProperty) return 'is required'
  if (type === ValueErrorType.ObjectAdditionalProperties) return 'is not a known field'
  if (type === ValueErrorType.Union && Array.isArray(schema.anyOf)) {
    return `must be one of ${schema.anyOf.map((s: TSchema) => JSON.stringify(s.const)).join(', ')}`
  }
  if (type === ValueErrorType.StringPattern && schema.pattern === DURATION_PATTERN)
    return 'must be a duration like 30s, 5m or 1h30m'
  if (type === ValueErrorType.StringPattern) return `must match ${schema.pattern}`
  if (type === ValueErrorType.Number) return 'must be a number'
  if (type === ValueErrorType.String) return 'must be a string'
  if (type === ValueErrorType.Object) return 'must be an object'
  if (type === ValueErrorType.Boolean) return 'must be true or false'
  return fallback
}

function semanticErrors(rule: AlertRule): FieldError[] {
  const errors: FieldError[] = []
  if (!Number.isFinite(rule.threshold)) errors.push({ path: '/threshold', message: 'must be a finite number' })
  for (const field of ['for', 'keepFiringFor', 'repeatInterval'] as const) {
    if (parseDuration(rule[field])! > MAX_DURATION_MS) errors.push({ path: `/${field}`, message: 'must be at most 7d' })
  }
  if (parseDuration(rule.repeatInterval) === 0)
    errors.push({ path: '/repeatInterval', message: 'must be longer than 0s' })
  if (rule.over && (parseDuration(rule.over.window) === 0 || parseDuration(rule.over.window)! > 86_400_000)) {
    errors.push({ path: '/over/window', message: 'must be longer than 0s and at most 24h' })
  }
  for (const map of ['matchers', 'labels', 'annotations'] as const) {
    for (const key of Object.keys(rule[map])) {
      if (!new RegExp(LABEL_NAME_PATTERN).test(key))
        errors.push({ path: `/${map}/${key}`, message: `is not a valid name (${LABEL_NAME_PATTERN})` })
    }
  }
  for (const reserved of ['alertname', 'severity']) {
    if (reserved in rule.labels)
      errors.push({
        path: `/labels/${reserved}`,
        message: `is set from the rule's ${reserved === 'alertname' ? 'name' : 'severity'}`,
      })
  }
  for (const [key, template] of Object.entries(rule.annotations)) {
    const problem = templateError(template)
    if (problem) errors.push({ path: `/annotations/${key}`, message: problem })
  }
  return errors
}

/** A rules file that cannot be used; `message` names the rule and field of every problem. */
export class RuleFileError extends Error {
  override name = 'RuleFileError'
  constructor(readonly problems: string[]) {
    super(`Invalid alert rules: ${problems.join('; ')}`)
  }
}

/**
 * Reads a rules file: a YAML mapping with a `rules:` list (see rules/default.yaml). Throws a
 * RuleFileError naming each bad rule (by name, or index when it has none) and field.
 */
export function loadRulesYaml(text: string): AlertRule[] {
  let document: unknown
  try {
    document = parse(text)
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : ''
    throw new RuleFileError([
      `not valid YAML${where}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    ])
  }
  const list = (document as { rules?: unknown } | null)?.rules
  if (!Array.isArray(list)) throw new RuleFileError(['the file must be a mapping with a "rules:" list'])
  const rules: AlertRule[] = []
  const problems: string[] = []
  const names = new Set<string>()
  list.forEach((entry: unknown, index) => {
    const name = (entry as { name?: unknown } | null)?.name
    const which = typeof name === 'string' ? `rule "${name}" (rules[${index}])` : `rules[${index}]`
    const result = validateRule(entry)
    if (!result.ok) {
      for (const e of result.errors)
        problems.push(`${which}: ${e.path.slice(1).replaceAll('/', '.') || 'rule'} ${e.message}`)
      return
    }
    if (names.has(result.rule.name)) problems.push(`${which}: name is used by an earlier rule`)
    names.add(result.rule.name)
    rules.push(result.rule)
  })
  if (problems.length) throw new RuleFileError(problems)
  return rules
}
