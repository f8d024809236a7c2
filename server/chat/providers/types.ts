import type { SamplingParams } from '../identity.js'
import type { HealthCheck } from '../../health/checks.js'
import type { MessageRole } from '../../db/schema.js'

/** A message's text: what token estimates, the simulated reply, analytics and the conversation flow read. */
export interface ChatMessage {
  role: MessageRole
  content: string
}

/** An OpenAI message as the client sent it (content parts, tool calls, tool results, fields we do not know). */
export type OpenAiMessage = { role: string; content?: unknown } & Record<string, unknown>

export interface ProviderRequest {
  model: string
  messages: ChatMessage[]
  params: SamplingParams
  /**
   * An OpenAI request as the client sent it, for the upstream: its messages and its other fields
   * (tools, tool_choice, response_format, n, logprobs, user, metadata, unknown ones …), forwarded
   * unchanged. Absent in the conversation flow, where `messages` are all there is.
   */
  openai?: { messages: OpenAiMessage[]; fields: Record<string, unknown> }
}

/** Token counts, with whatever else the upstream reported (prompt_tokens_details, completion_tokens_details …). */
export interface Usage {
  prompt_tokens: number
  completion_tokens: number
  [field: string]: unknown
}

/** A choice of a finished completion, in OpenAI's shape: `message` keeps tool_calls, refusal and extra fields. */
export interface CompletionChoice {
  index: number
  message: { role: 'assistant'; content: string | null; refusal: string | null; [field: string]: unknown }
  logprobs: unknown
  finish_reason: string
}

/** A streamed chunk without its envelope (id, object, created, model): the route adds that. */
export interface CompletionChunk {
  choices: Array<{ index: number; delta: Record<string, unknown>; logprobs?: unknown; finish_reason: string | null }>
  /** Other top-level fields of the upstream's chunk (service_tier …). */
  [field: string]: unknown
}

export interface Completion {
  /** The text of choice 0 (the conversation flow stores it). */
  content: string
  /** Choice 0's: 'stop', 'length', 'tool_calls', or whatever else the upstream said. */
  finish_reason: string
  /** The model that answered, as the provider names it. */
  model: string
  usage: Usage
  /** Every choice (n > 1), as OpenAI's non-streamed answer has them. */
  choices: CompletionChoice[]
  /** The answer as the chunks it streamed in, for replaying a cached answer chunk for chunk. */
  chunks: CompletionChunk[]
  system_fingerprint?: string | null
}

export interface CompleteOptions {
  /** Aborts the call (shutdown, or the only client waiting went away). */
  signal: AbortSignal
  /**
   * Each chunk as it is generated, raw deltas included (content, tool_calls, refusal, logprobs,
   * reasoning_content …). Called only for chunks that carry something (not the empty
   * role-only opening chunk), so its first call is the first token the client sees.
   */
  onChunk: (chunk: CompletionChunk) => void
  /** The upstream each attempt goes to (a pool's member; the last one told answered). */
  onUpstream?: (upstream: string) => void
  /**
   * Whether chunks passed to onChunk go out to a client at once (a stream). When false (a
   * non-streamed reply), a pool may still move the request to another upstream mid-generation.
   * Default true.
   */
  tokensReachClient?: boolean
}

export interface EmbeddingsRequest {
  model: string
  /** As the client sent it: a string, strings, or token arrays. */
  input: unknown
  /** The request's other fields (encoding_format, dimensions, user …), forwarded unchanged. */
  fields: Record<string, unknown>
}

export interface EmbeddingsResponse {
  object: 'list'
  data: Array<{ object: 'embedding'; index: number; embedding: number[] | string }>
  model: string
  usage: { prompt_tokens: number; total_tokens: number }
  [field: string]: unknown
}

export interface ModelInfo {
  id: string
  object: 'model'
  created: number
  owned_by: string
}

/** Where completions come from. Failures are AppErrors (502/504) with a message a client can act on. */
export interface ChatProvider {
  readonly name: 'simulated' | 'openai' | 'pool'
  /** The model a request naming `requested` (or none) is served by; also what the cache key uses. */
  resolveModel(requested: string | undefined): string
  complete(request: ProviderRequest, options: CompleteOptions): Promise<Completion>
  embeddings(request: EmbeddingsRequest, options: { signal: AbortSignal }): Promise<EmbeddingsResponse>
  listModels(signal: AbortSignal): Promise<ModelInfo[]>
  /** For `app.health` (component `provider`). */
  healthCheck: HealthCheck
  /** Frees what the provider holds (kept-alive upstream connections), on shutdown. */
  close?(): void
}
