import type { AlertmanagerWebhook } from '../payload.js'

/**
 * Webhook body templates: JSON text with `{{ .Field }}` placeholders over the fields of the
 * Alertmanager webhook payload, in Go template's spelling. `{{ .Status }}`, `{{ .Receiver }}`,
 * `{{ .GroupKey }}`, `{{ .ExternalURL }}`, `{{ .Version }}`, `{{ .TruncatedAlerts }}` and
 * `{{ .GroupLabels.<name> }}` / `.CommonLabels.<name>` / `.CommonAnnotations.<name>` insert
 * the value escaped for use inside a JSON string; `{{ json .X }}` inserts any field (also
 * `.Alerts` and whole maps) as JSON; `{{ len .Alerts }}` the number of alerts.
 */
const EXPRESSION = /\{\{\s*(.*?)\s*\}\}/g
const SCALARS = ['Version', 'GroupKey', 'Status', 'Receiver', 'ExternalURL', 'TruncatedAlerts'] as const
const MAPS = ['GroupLabels', 'CommonLabels', 'CommonAnnotations'] as const
const PATH = /^\.([A-Za-z]+)(?:\.([A-Za-z_][A-Za-z0-9_]*))?$/

const FIELD_OF: Record<string, keyof AlertmanagerWebhook> = {
  Version: 'version',
  GroupKey: 'groupKey',
  Status: 'status',
  Receiver: 'receiver',
  ExternalURL: 'externalURL',
  TruncatedAlerts: 'truncatedAlerts',
  GroupLabels: 'groupLabels',
  CommonLabels: 'commonLabels',
  CommonAnnotations: 'commonAnnotations',
  Alerts: 'alerts',
}

type Lookup = { ok: true; value: unknown } | { ok: false; problem: string }

function lookup(path: string, payload: AlertmanagerWebhook): Lookup {
  const match = PATH.exec(path)
  const field = match ? FIELD_OF[match[1]!] : undefined
  if (!match || !field) return { ok: false, problem: `uses unknown field ${path}` }
  const value = payload[field]
  if (match[2] === undefined) return { ok: true, value }
  if (!(MAPS as readonly string[]).includes(match[1]!))
    return { ok: false, problem: `uses ${path}; only maps take a .name` }
  return { ok: true, value: (value as Record<string, string>)[match[2]] ?? '' }
}

function expand(expression: string, payload: AlertmanagerWebhook): { text: string } | { problem: string } {
  const [head, ...rest] = expression.split(/\s+/)
  if (head === 'json' || head === 'len') {
    if (rest.length !== 1) return { problem: `uses {{ ${expression} }}; ${head} takes one field` }
    const found = lookup(rest[0]!, payload)
    if (!found.ok) return { problem: found.problem }
    if (head === 'json') return { text: JSON.stringify(found.value) }
    return Array.isArray(found.value)
      ? { text: String(found.value.length) }
      : { problem: `uses {{ ${expression} }}; len takes .Alerts` }
  }
  if (rest.length) return { problem: `uses {{ ${expression} }}; known functions: json, len` }
  const found = lookup(head!, payload)
  if (!found.ok) return { problem: found.problem }
  if (typeof found.value === 'object' && found.value !== null)
    return { problem: `uses {{ ${expression} }}; insert maps and lists with {{ json ${head} }}` }
  return { text: JSON.stringify(String(found.value)).slice(1, -1) }
}

function render(template: string, payload: AlertmanagerWebhook): { body: string } | { problem: string } {
  if (template.replace(EXPRESSION, '').includes('{{')) return { problem: 'has an unclosed {{' }
  let problem: string | null = null
  const body = template.replace(EXPRESSION, (_, expression: string) => {
    const result = expand(expression, payload)
    if ('problem' in result) {
      problem ??= result.problem
      return ''
    }
    return result.text
  })
  return problem ? { problem } : { body }
}

/** The body for this payload (the template was checked by bodyTemplateProblem when saved). */
export function renderBodyTemplate(template: string, payload: AlertmanagerWebhook): string {
  const result = render(template, payload)
  if ('problem' in result) throw new Error(`webhook template ${result.problem}`)
  return result.body
}

/** Why a template cannot be used (after "template"), or null: it must render to valid JSON. */
export function bodyTemplateProblem(template: string, sample: AlertmanagerWebhook): string | null {
  const result = render(template, sample)
  if ('problem' in result) return result.problem
  try {
    JSON.parse(result.body)
    return null
  } catch {
    return 'does not render to valid JSON'
  }
}

export const TEMPLATE_FIELDS = [...SCALARS, ...MAPS, 'Alerts'] as const
