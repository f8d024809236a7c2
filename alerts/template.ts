import type { Labels } from './labels.js'

/**
 * Annotation templates, in the subset of Prometheus' syntax that rules need:
 * `{{ $value }}`, `{{ $labels.name }}` and the pipes `humanize`, `humanizePercentage`,
 * `humanizeDuration`. Kept to Prometheus' syntax so that the PromQL mirror of the rules can
 * copy annotations unchanged.
 */
const EXPRESSION = /\{\{\s*(.*?)\s*\}\}/g
const REFERENCE = /^\$(value|labels\.([A-Za-z_][A-Za-z0-9_]*))$/
const FUNCTIONS = ['humanize', 'humanizePercentage', 'humanizeDuration'] as const
type TemplateFunction = (typeof FUNCTIONS)[number]

export interface TemplateData {
  value: number | null
  labels: Labels
}

/** Why a template cannot be expanded, or null when it can. */
export function templateError(template: string): string | null {
  const unclosed = template.replace(EXPRESSION, '').includes('{{')
  if (unclosed) return 'has an unclosed {{'
  for (const [, expression] of template.matchAll(EXPRESSION)) {
    const [reference, ...pipes] = expression!.split('|').map((p) => p.trim())
    if (!REFERENCE.test(reference ?? ''))
      return `uses {{ ${expression} }}; only $value and $labels.<name> are available`
    if (pipes.length > 1) return `uses {{ ${expression} }}; at most one function per expression`
    const unknown = pipes.find((p) => !(FUNCTIONS as readonly string[]).includes(p))
    if (unknown !== undefined) return `uses unknown function ${JSON.stringify(unknown)}; known: ${FUNCTIONS.join(', ')}`
  }
  return null
}

export function expandTemplate(template: string, data: TemplateData): string {
  return template.replace(EXPRESSION, (whole, expression: string) => {
    const [reference, ...pipes] = expression.split('|').map((p) => p.trim())
    const match = REFERENCE.exec(reference ?? '')
    if (!match) return whole
    if (match[2] !== undefined) return data.labels[match[2]] ?? ''
    if (data.value === null) return 'n/a'
    if (pipes.length === 0) return formatNumber(data.value)
    return applyFunction(pipes[0] as TemplateFunction, data.value)
  })
}

function formatNumber(value: number): string {
  return String(Number(value.toPrecision(6)))
}

function applyFunction(fn: TemplateFunction, value: number): string {
  switch (fn) {
    case 'humanize':
      return humanize(value)
    case 'humanizePercentage':
      return `${formatNumber(value * 100)}%`
    case 'humanizeDuration':
      return humanizeDuration(value)
  }
}

const PREFIXES = ['', 'k', 'M', 'G', 'T', 'P']

function humanize(value: number): string {
  let scaled = value
  let index = 0
  while (Math.abs(scaled) >= 1000 && index < PREFIXES.length - 1) {
    scaled /= 1000
    index++
  }
  return `${Number(scaled.toPrecision(4))}${PREFIXES[index]}`
}

function humanizeDuration(seconds: number): string {
  if (Math.abs(seconds) < 1) return `${Number((seconds * 1000).toPrecision(4))}ms`
  if (Math.abs(seconds) < 60) return `${Number(seconds.toPrecision(4))}s`
  const whole = Math.round(seconds)
  const parts = [
    [Math.floor(whole / 86_400), 'd'],
    [Math.floor((whole % 86_400) / 3_600), 'h'],
    [Math.floor((whole % 3_600) / 60), 'm'],
    [whole % 60, 's'],
  ] as const
  return parts
    .filter(([amount]) => amount > 0)
    .map(([amount, unit]) => `${amount}${unit}`)
    .join(' ')
}
