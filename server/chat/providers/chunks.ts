import type { CompletionChoice, CompletionChunk } from './types.js'

type Delta = Record<string, unknown>
interface ToolCallDelta {
  index?: number
  id?: string
  type?: string
  function?: { name?: string; arguments?: string }
  [field: string]: unknown
}
interface ToolCall {
  id?: string
  type?: string
  function: { name: string; arguments: string }
  [field: string]: unknown
}
interface Building {
  message: Record<string, unknown>
  toolCalls: ToolCall[]
  logprobs: Record<string, unknown> | null
  finish: string | null
}

/** Whether a streamed choice carries anything for the client (the opening `{ role: "assistant", content: "" }` does not). */
export function carriesSomething(choice: CompletionChunk['choices'][number]): boolean {
  if (choice.finish_reason || choice.logprobs) return true
  for (const [field, value] of Object.entries(choice.delta ?? {})) {
    if (field === 'role' || value === null || value === undefined || value === '') continue
    if (Array.isArray(value) && value.length === 0) continue
    return true
  }
  return false
}

/**
 * Builds the choices of a non-streamed answer from the chunks of a streamed one, as OpenAI's
 * own client does: text fields (content, refusal, reasoning_content …) are joined, tool calls
 * gathered by their index (arguments joined), logprobs lists concatenated, other fields the last.
 */
export class ChoiceAssembler {
  private readonly choices = new Map<number, Building>()

  add(chunk: CompletionChunk): void {
    for (const choice of chunk.choices ?? []) {
      const index = typeof choice.index === 'number' ? choice.index : 0
      let building = this.choices.get(index)
      if (!building) {
        building = { message: {}, toolCalls: [], logprobs: null, finish: null }
        this.choices.set(index, building)
      }
      mergeDelta(building, choice.delta ?? {})
      if (choice.logprobs && typeof choice.logprobs === 'object') {
        building.logprobs ??= {}
        for (const [field, list] of Object.entries(choice.logprobs as Record<string, unknown>))
          if (Array.isArray(list)) {
            const before = building.logprobs[field]
            building.logprobs[field] = Array.isArray(before) ? [...(before as unknown[]), ...list] : list
          } else if (!(field in building.logprobs)) building.logprobs[field] = list
      }
      if (choice.finish_reason) building.finish = choice.finish_reason
    }
  }

  get finished(): boolean {
    return this.choices.size > 0 && [...this.choices.values()].every((c) => c.finish !== null)
  }

  result(): CompletionChoice[] {
    if (this.choices.size === 0) this.choices.set(0, { message: {}, toolCalls: [], logprobs: null, finish: null })
    return [...this.choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => {
        const { role: _role, content, refusal, ...extra } = c.message
        return {
          index,
          message: {
            role: 'assistant' as const,
            content: typeof content === 'string' ? content : c.toolCalls.length ? null : '',
            refusal: typeof refusal === 'string' ? refusal : null,
            ...(c.toolCalls.length ? { tool_calls: c.toolCalls } : {}),
            ...extra,
          },
          logprobs: c.logprobs,
          finish_reason: c.finish ?? 'stop',
        }
      })
  }
}

function mergeDelta(building: Building, delta: Delta): void {
  for (const [field, value] of Object.entries(delta)) {
    if (field === 'tool_calls') {
      if (Array.isArray(value)) for (const call of value as ToolCallDelta[]) mergeToolCall(building.toolCalls, call)
    } else if (typeof value === 'string' && field !== 'role') {
      const before = building.message[field]
      building.message[field] = typeof before === 'string' ? before + value : value
    } else if (value !== null && value !== undefined) {
      building.message[field] = value
    } else if (!(field in building.message)) {
      building.message[field] = value
    }
  }
}

function mergeToolCall(calls: ToolCall[], delta: ToolCallDelta): void {
  const { index = calls.length, function: fn, ...rest } = delta
  const call = (calls[index] ??= { function: { name: '', arguments: '' } })
  for (const [field, value] of Object.entries(rest)) if (value !== undefined && value !== null) call[field] = value
  if (fn?.name) call.function.name += fn.name
  if (fn?.arguments) call.function.arguments += fn.arguments
}

/** The chunks a finished answer would have streamed as: one delta per choice, then its finish (JSON answers, old cache entries). */
export function chunksOf(choices: CompletionChoice[]): CompletionChunk[] {
  const chunks: CompletionChunk[] = []
  for (const choice of choices) {
    const { role: _role, tool_calls, refusal, ...fields } = choice.message
    const delta: Delta = {}
    for (const [field, value] of Object.entries(fields)) if (value !== null && value !== undefined) delta[field] = value
    if (refusal !== null && refusal !== undefined) delta.refusal = refusal
    if (Array.isArray(tool_calls)) delta.tool_calls = tool_calls.map((call, index) => ({ index, ...(call as object) }))
    chunks.push({ choices: [{ index: choice.index, delta, logprobs: choice.logprobs ?? null, finish_reason: null }] })
    chunks.push({ choices: [{ index: choice.index, delta: {}, logprobs: null, finish_reason: choice.finish_reason }] })
  }
  return chunks
}

/** The text of choice 0 and its finish reason, what the conversation flow and the metrics read. */
export function firstChoice(choices: CompletionChoice[]): { content: string; finish_reason: string } {
  const choice = choices.find((c) => c.index === 0) ?? choices[0]
  const content = choice?.message.content
  return { content: typeof content === 'string' ? content : '', finish_reason: choice?.finish_reason ?? 'stop' }
}
