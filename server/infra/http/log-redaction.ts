/** Keys (any case) whose values never reach the log, at any depth of a logged object. */
const SECRET_KEYS = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'token',
  'secret',
  'password',
  'apikey',
  'api_key',
])
/** A cheap test on the finished line: only lines that may carry a secret are looked at again. */
const MAY_CARRY_SECRET = /"(?:authorization|cookie|set-cookie|token|secret|password|apikey|api_key)":|token=|ccp_/i
const SECRET_KEY = /"(?:authorization|cookie|set-cookie|token|secret|password|apikey|api_key)":/i
/**
 * The value of a query parameter (or any `name=value` pair) whose name ends in "token"
 * (`?token=`, `&access_token=`), up to the next `&`, `#`, space or end of the JSON string.
 */
const TOKEN_PARAMETER_VALUES = /((?:^|[?&;\s"])[\w.-]*token=)(?:[^&#"\\\s]|\\.)*/gi
/** An API token (generateToken's shape) anywhere in a line, whatever carries it. */
const API_TOKENS = /ccp_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g

const SECRET_STRING_VALUES =
  /("(?:authorization|cookie|set-cookie|token|secret|password|apikey|api_key)":\s*)"(?:[^"\\]|\\.)*"/gi

export const REDACTED = '[redacted]'

/**
 * pino's `hooks.streamWrite`: redacts secret-named keys in a finished JSON log line, the
 * values of token query parameters (request URLs) and API tokens wherever they appear. pino's
 * own wildcard redaction (`*.token` and the like) clones every logged object on every line,
 * about 4 µs a line, most of the cost of request logging; nearly no line carries such a key,
 * and here those that do not cost one regular-expression test. Covers every depth, child
 * logger bindings and serialized errors too.
 */
export function redactLogLine(line: string): string {
  if (!MAY_CARRY_SECRET.test(line)) return line
  const scrubbed = line.replace(TOKEN_PARAMETER_VALUES, `$1${REDACTED}`).replace(API_TOKENS, REDACTED)
  if (!SECRET_KEY.test(scrubbed)) return scrubbed
  let parsed: unknown
  try {
    parsed = JSON.parse(scrubbed)
  } catch {
    // pino writes JSON; should a line ever not be, censor string values after such keys.
    return scrubbed.replace(SECRET_STRING_VALUES, `$1"${REDACTED}"`)
  }
  return `${JSON.stringify(redactSecrets(parsed))}\n`
}

function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value))
    out[key] = SECRET_KEYS.has(key.toLowerCase()) ? REDACTED : redactSecrets(inner)
  return out
}

/**
 * Credentials inside free text that is about to be logged (an upstream's error message echoes
 * the key it was sent: "Incorrect API key provided: sk-proj-…"). Each pattern keeps its
 * recognisable prefix and drops the secret.
 */
const CREDENTIALS_IN_TEXT: Array<[RegExp, string]> = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  [/\bsk-[A-Za-z0-9_*-]+/g, `sk-${REDACTED}`],
  [/\bccp_[A-Za-z0-9_-]+/g, `ccp_${REDACTED}`],
  [/\bAIza[A-Za-z0-9_-]{20,}/g, `AIza${REDACTED}`],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}/g, REDACTED],
  [/\bxox[abprs]-[A-Za-z0-9-]+/g, REDACTED],
  [/\bAKIA[A-Z0-9]{16}\b/g, REDACTED],
  [/(:\/\/[^/\s:@]+:)[^@\s/]+@/g, `$1${REDACTED}@`],
]

export function redactCredentials(text: string): string {
  let out = text
  for (const [pattern, replacement] of CREDENTIALS_IN_TEXT) out = out.replace(pattern, replacement)
  return out
}
