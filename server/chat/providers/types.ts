import type { SamplingParams } from '../identity.js'
import type { HealthCheck } from '../../health/checks.js'
import type { MessageRole } from '../../db/schema.js'

export interface ChatMessage {
  role: MessageRole
  content: string
}

export interface ProviderRequest {
  model: string
  messages: ChatMessage[]
  params: SamplingParams
}

export interface Usage {
  prompt_tokens: number
  completion_tokens: number
}

export interface Completion {
  content: string
  /** 'stop', 'length', or whatever else the upstream said. */
  finish_reason: string
  /** The model that answered, as the provider names it. */
  model: string
  usage: Usage
}

export interface CompleteOptions {
  /** Aborts the call (shutdown, or the only client waiting went away). */
  signal: AbortSignal
  /** Each piece of text as it is generated. */
  onToken: (text: string) => void
  /** The upstream each attempt goes to (a pool's member; the last one told answered). */
  onUpstream?: (upstream: string) => void
  /**
   * Whether tokens passed to onToken go out to a client at once (a stream). When false (a
   * non-streamed reply), a pool may still move the request to another upstream mid-generation.
   * Default true.
   */
  tokensReachClient?: boolean
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
  listModels(signal: AbortSignal): Promise<ModelInfo[]>
  /** For `app.health` (component `provider`). */
  healthCheck: HealthCheck
  /** Frees what the provider holds (kept-alive upstream connections), on shutdown. */
  close?(): void
}
