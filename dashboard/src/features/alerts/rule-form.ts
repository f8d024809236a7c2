import type { AlertRule, Severity } from '../../../../server/contract/index.js'

/**
 * The rule editor's fields as typed, and the request body made from them. The body carries
 * what was typed even when it is wrong (a threshold of "abc" is sent as a string): the
 * server validates and says which field is wrong, in the same words as for a rules file.
 */
export interface RuleForm {
  name: string
  signal: string
  /** name=value, comma separated */
  matchers: string
  useWindow: boolean
  window: string
  fn: 'avg' | 'max' | 'min'
  op: AlertRule['op']
  threshold: string
  for: string
  keepFiringFor: string
  repeatInterval: string
  severity: Severity
  /** name=value, comma separated */
  labels: string
  summary: string
  description: string
  /** Annotations other than summary and description, kept as they were. */
  otherAnnotations: Record<string, string>
  enabled: boolean
}

export function emptyForm(): RuleForm {
  return {
    name: '',
    signal: '',
    matchers: '',
    useWindow: false,
    window: '5m',
    fn: 'avg',
    op: '>',
    threshold: '',
    for: '0s',
    keepFiringFor: '0s',
    repeatInterval: '4h',
    severity: 'warning',
    labels: '',
    summary: '',
    description: '',
    otherAnnotations: {},
    enabled: true,
  }
}

const pairs = (map: Record<string, string> | undefined) =>
  Object.entries(map ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')

export function formFromRule(rule: AlertRule): RuleForm {
  const { summary = '', description = '', ...otherAnnotations } = rule.annotations ?? {}
  return {
    name: rule.name,
    signal: rule.signal,
    matchers: pairs(rule.matchers),
    useWindow: !!rule.over,
    window: rule.over?.window ?? '5m',
    fn: rule.over?.fn ?? 'avg',
    op: rule.op,
    threshold: String(rule.threshold),
    for: rule.for ?? '0s',
    keepFiringFor: rule.keepFiringFor ?? '0s',
    repeatInterval: rule.repeatInterval ?? '4h',
    severity: rule.severity,
    labels: pairs(rule.labels),
    summary,
    description,
    otherAnnotations,
    enabled: rule.enabled !== false,
  }
}

/** "a=1, b=2" → { a: '1', b: '2' }; a part without "=" is a problem the form reports itself. */
export function parsePairs(text: string): { map: Record<string, string>; problem: string | null } {
  const map: Record<string, string> = {}
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=')
    if (eq <= 0) return { map, problem: `"${part}" is not name=value` }
    map[part.slice(0, eq).trim()] = part.slice(eq + 1).trim()
  }
  return { map, problem: null }
}

export function bodyFromForm(form: RuleForm): { body: Record<string, unknown>; problems: Map<string, string> } {
  const problems = new Map<string, string>()
  const matchers = parsePairs(form.matchers)
  if (matchers.problem) problems.set('/matchers', matchers.problem)
  const labels = parsePairs(form.labels)
  if (labels.problem) problems.set('/labels', labels.problem)
  const threshold = form.threshold.trim()
  const annotations: Record<string, string> = { ...form.otherAnnotations }
  if (form.summary.trim()) annotations.summary = form.summary.trim()
  if (form.description.trim()) annotations.description = form.description.trim()
  const body: Record<string, unknown> = {
    name: form.name.trim(),
    signal: form.signal.trim(),
    matchers: matchers.map,
    ...(form.useWindow ? { over: { window: form.window.trim(), fn: form.fn } } : {}),
    op: form.op,
    // Empty: left out, so that the server says it is required. Not a number: sent as typed.
    ...(threshold === '' ? {} : { threshold: Number.isFinite(Number(threshold)) ? Number(threshold) : threshold }),
    for: form.for.trim(),
    keepFiringFor: form.keepFiringFor.trim(),
    repeatInterval: form.repeatInterval.trim(),
    severity: form.severity,
    labels: labels.map,
    annotations,
    enabled: form.enabled,
  }
  return { body, problems }
}
