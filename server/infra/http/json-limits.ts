import { JSON_LIMITS_KEYWORD } from '../../contract/common.js'
import type { FastifyServerOptions } from 'fastify'

interface Limits {
  maxDepth: number
  maxBytes: number
}

/** An Ajv plugin, as Fastify's `ajv.plugins` takes it (Ajv itself comes with Fastify). */
type AjvPlugin = Extract<
  NonNullable<NonNullable<FastifyServerOptions['ajv']>['plugins']>[number],
  (...args: never[]) => unknown
>
interface KeywordValidate {
  (limits: Limits, data: unknown): boolean
  errors?: Array<{ keyword: string; message: string; params: Record<string, unknown> }>
}

/**
 * What is wrong with `value` under `limits`, or null. Walks with its own stack, never
 * recursion, so that depth costs no call stack; stops at the first level too deep and after
 * `maxBytes` values (each one takes at least a byte of JSON), so that a wide value costs no
 * more than a small one. Only a value within both bounds is serialized, to measure it exactly.
 */
export function jsonLimitViolation(value: unknown, limits: Limits): string | null {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }]
  let values = 0
  while (stack.length) {
    const { value: current, depth } = stack.pop()!
    if (current === null || typeof current !== 'object') continue
    if (depth + 1 > limits.maxDepth) return `is nested deeper than ${limits.maxDepth} levels`
    const children: unknown[] = Array.isArray(current) ? current : Object.values(current)
    values += children.length
    if (values > limits.maxBytes) return tooLarge(limits)
    for (const child of children) stack.push({ value: child, depth: depth + 1 })
  }
  const json = JSON.stringify(value)
  return json !== undefined && Buffer.byteLength(json) > limits.maxBytes ? tooLarge(limits) : null
}

const tooLarge = (limits: Limits) => `is larger than ${limits.maxBytes} bytes as JSON`

/**
 * Teaches Ajv the `x-json-limits` keyword of FreeJson / FreeJsonObject (server/contract/common.ts):
 * a field over its limits fails validation like any other, a 400 whose message names it
 * (`body/metadata is nested deeper than 8 levels`). Passed to Fastify as an Ajv plugin.
 */
export const jsonLimitsKeyword: AjvPlugin = (ajv) => {
  const validate: KeywordValidate = (limits, data) => {
    const problem = jsonLimitViolation(data, limits)
    validate.errors = problem ? [{ keyword: JSON_LIMITS_KEYWORD, message: problem, params: { ...limits } }] : []
    return problem === null
  }
  ajv.addKeyword({ keyword: JSON_LIMITS_KEYWORD, schemaType: 'object', errors: true, validate })
  return ajv
}
