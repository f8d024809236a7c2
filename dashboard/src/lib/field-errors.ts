import { ApiError } from './api.js'
import { errorText } from './errors.js'
/**
 * The field problems of a 400 answer, for forms that show each next to its field.
 *
 * The server says `{ error: { code: 'validation_error', message, details: [{ path, message }] } }`
 * with paths such as `body/threshold` or `body/rule/over/window`; the message lists the same
 * problems (`body/threshold must be a number; body/for must be a duration…`). ApiError keeps
 * the message only, so the problems are read back from it; `details`, when an error carries
 * them, are used as they are.
 */
export interface FieldProblems {
  /** JSON pointer of the field inside the submitted object (`/threshold`, `/over/window`) → message. */
  fields: Map<string, string>
  /** Problems that name no field of the form (the whole body, a conflict, a network failure). */
  general: string[]
}

interface Detail {
  path: string
  message: string
}

function detailsOf(err: unknown): Detail[] {
  const details = (err as { details?: unknown } | null)?.details
  if (Array.isArray(details)) {
    return details.filter((d): d is Detail => typeof d?.path === 'string' && typeof d?.message === 'string')
  }
  const message = err instanceof Error ? err.message : String(err)
  // Split only before the next "body…" path, so that a message with a ';' of its own survives.
  return message.split(/;\s+(?=body(?:\/|\s))/).map((part) => {
    const match = /^(body(?:\/\S*)?)\s+([\s\S]*)$/.exec(part.trim())
    return match ? { path: match[1]!, message: match[2]! } : { path: '', message: part.trim() }
  })
}

/**
 * `prefix` is where the form's object sits in the request: `body` for a rule posted as the
 * body, `body/rule` for the rule inside a backtest request.
 */
export function fieldProblems(err: unknown, prefix = 'body'): FieldProblems {
  const fields = new Map<string, string>()
  const general: string[] = []
  for (const { path, message } of detailsOf(err)) {
    if (path === prefix || path.startsWith(`${prefix}/`)) {
      const pointer = path.slice(prefix.length) || '/'
      if (pointer === '/') general.push(message)
      else if (!fields.has(pointer)) fields.set(pointer, message)
    } else {
      general.push(path ? `${path} ${message}` : message)
    }
  }
  return { fields, general }
}

/**
 * What a failed save says on its form: a 400's problems by field, anything else (the server
 * unreachable, a 500) as one general problem.
 */
export function saveProblems(err: unknown, prefix = 'body'): FieldProblems {
  return err instanceof ApiError && err.status === 400
    ? fieldProblems(err, prefix)
    : { fields: new Map(), general: [errorText(err)] }
}

/** The problem of a field or of anything under it (`/matchers` covers `/matchers/team`). */
export function problemAt(problems: FieldProblems | null, pointer: string): string | null {
  if (!problems) return null
  const exact = problems.fields.get(pointer)
  if (exact) return exact
  for (const [path, message] of problems.fields) {
    if (path.startsWith(`${pointer}/`)) return `${path.slice(pointer.length + 1)}: ${message}`
  }
  return null
}
