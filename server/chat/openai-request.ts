import { JSON_LIMITS } from '../contract/common.js'
import { badRequest } from '../errors.js'
import { jsonLimitViolation } from '../infra/http/json-limits.js'
import type { ChatMessage, OpenAiMessage } from './providers/types.js'

/** Body fields this service reads itself; every other field goes to the upstream unchanged. */
const OURS = new Set([
  'model',
  'messages',
  'stream',
  'stream_options',
  'cache',
  'temperature',
  'top_p',
  'max_tokens',
  'presence_penalty',
  'frequency_penalty',
  'seed',
  'stop',
])

/** Content parts: how deep anything inside one may nest (its size is the body limit's). */
const PART_LIMITS = { maxDepth: JSON_LIMITS.maxDepth, maxBytes: Number.MAX_SAFE_INTEGER }

/** The fields of an OpenAI request that are forwarded as they came (tools, response_format, n, unknown ones …). */
export function forwardedFields(body: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(body)) if (!OURS.has(name) && value !== undefined) fields[name] = value
  return fields
}

/** tool_choice: "none" | "auto" | "required" | { type: "function", function: { name } } (or a newer object kind). */
export function checkToolChoice(value: unknown): void {
  if (value === undefined || value === null) return
  if (typeof value === 'string') {
    if (['none', 'auto', 'required'].includes(value)) return
  } else if (
    typeof value === 'object' &&
    !Array.isArray(value) &&
    typeof (value as { type?: unknown }).type === 'string'
  ) {
    const fn = (value as { type: string; function?: { name?: unknown } }).function
    if ((value as { type: string }).type !== 'function' || typeof fn?.name === 'string') return
  }
  throw badRequest(
    'tool_choice must be "none", "auto", "required" or { "type": "function", "function": { "name": … } }',
    'invalid_request_error',
    'tool_choice',
  )
}

/**
 * OpenAI messages to their text (what estimates, analytics and the simulated reply read):
 * `developer` is a system message, a tool result is read as the user's, text parts are joined,
 * other parts (image_url, input_audio, file …) are checked and left to the upstream.
 */
export function toChatMessages(messages: Array<{ role: string; content?: unknown }>, maxChars: number): ChatMessage[] {
  return messages.map((m, i) => {
    const content = messageText(m.content, `messages.${i}.content`)
    if (content.length > maxChars)
      throw badRequest(
        `body/messages/${i}/content must NOT have more than ${maxChars} characters`,
        'validation_error',
        `messages.${i}.content`,
      )
    const role = m.role === 'developer' ? 'system' : m.role === 'tool' || m.role === 'function' ? 'user' : m.role
    return { role: role as ChatMessage['role'], content }
  })
}

/** The messages as they go upstream: as the client sent them. */
export const wireMessages = (messages: unknown[]): OpenAiMessage[] => messages as OpenAiMessage[]

function messageText(content: unknown, param: string): string {
  if (typeof content === 'string') return content
  if (content === null || content === undefined) return ''
  const invalid = (detail: string, at = param) =>
    badRequest(`body/${at.replaceAll('.', '/')} ${detail}`, 'invalid_request_error', at)
  if (!Array.isArray(content)) throw invalid('must be a string, a list of content parts, or null')
  if (content.length > 100) throw invalid('must NOT have more than 100 parts')
  const texts: string[] = []
  content.forEach((part: unknown, j) => {
    const at = `${param}.${j}`
    if (
      !part ||
      typeof part !== 'object' ||
      Array.isArray(part) ||
      typeof (part as { type?: unknown }).type !== 'string'
    )
      throw invalid('must be an object with a string "type"', at)
    const tooDeep = jsonLimitViolation(part, PART_LIMITS)
    if (tooDeep) throw invalid(tooDeep, at)
    const p = part as {
      type: string
      text?: unknown
      refusal?: unknown
      image_url?: { url?: unknown }
      input_audio?: { data?: unknown; format?: unknown }
    }
    if (p.type === 'text') {
      if (typeof p.text !== 'string') throw invalid('must have a string "text"', at)
      texts.push(p.text)
    } else if (p.type === 'image_url') {
      if (typeof p.image_url?.url !== 'string') throw invalid('must have image_url.url, a string', at)
    } else if (p.type === 'input_audio') {
      if (typeof p.input_audio?.data !== 'string' || typeof p.input_audio?.format !== 'string')
        throw invalid('must have input_audio.data and input_audio.format, strings', at)
    } else if (p.type === 'refusal') {
      if (typeof p.refusal === 'string') texts.push(p.refusal)
    }
  })
  return texts.join('\n')
}
