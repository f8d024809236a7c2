import type { FastifyBaseLogger } from 'fastify'
import { aiResponseIdentity, normalizeText, type SamplingParams } from './identity.js'
import type { TieredCache } from '../cache/tiered-cache.js'
import type { Config } from '../config.js'
import type { Conversation, Message } from '../db/schema.js'
import { AppError, serviceUnavailable } from '../errors.js'
import type { Metrics } from '../metrics/definitions.js'
import { chunksOf } from './providers/chunks.js'
import type {
  ChatProvider,
  ChatMessage,
  Completion,
  CompletionChunk,
  EmbeddingsRequest,
  EmbeddingsResponse,
  ModelInfo,
  ProviderRequest,
} from './providers/types.js'
import type { ChatCompletionEventData, PromptSample } from './repositories/analytics.js'
import type { ChatRepositories } from './repositories/index.js'
import type { ChatLimits } from './limits/index.js'
import { OpenStreams } from './sse.js'
import { estimatePromptTokens, splitTokens } from './tokens.js'
import type { Principal } from '../auth/access.js'
import type { UsageService } from '../usage/service.js'

/** Per-request cache control (body `cache` and the Cache-Control header, merged). */
export interface CacheControl {
  noCache?: boolean
  noStore?: boolean
  /** Seconds. */
  ttl?: number
  /** A sub-namespace of ai_response (`cache: { namespace: "team-a" }` → ai_response:team-a). */
  namespace?: string
}

/** Where a streaming caller receives the reply: `start` once (before the first token), then the tokens. */
export interface CompletionSink {
  start(info: { cached: boolean; cacheKey: string; upstream: string | null }): void
  /** A chunk as the provider streamed it (or as it was stored, on a cache hit). */
  chunk(chunk: CompletionChunk): void
}

export interface CompletionInput {
  /** Whose request it is (scopeOf the caller, or the conversation's): it joins the cache key unless CACHE_SCOPE=global. */
  scope: string
  messages: ChatMessage[]
  model?: string
  params?: SamplingParams
  /** The OpenAI request as sent (content parts, tools, response_format …): forwarded, and part of the cache key. */
  openai?: ProviderRequest['openai']
  cache?: CacheControl
  api: ChatCompletionEventData['api'] | 'warm'
  stream?: boolean
  sessionId?: string | null
  conversationId?: string | null
  sink?: CompletionSink
  /** The client went away. Cancels the provider call only when no cache entry will come of it. */
  signal?: AbortSignal
  /** Who asks: their usage is recorded and their budget enforced (none for warming). */
  principal?: Principal | null
}

export interface CompletionResult extends Completion {
  cached: boolean
  cacheKey: string
  latencyMs: number
  /** The pool upstream that answered; null for a reply from the cache. */
  upstream: string | null
}

/** Prompts longer than this are analysed by hash only; their text is not kept for cache warming. */
const PROMPT_SAMPLE_MAX_CHARS = 4_000
/** Distinct `model` label values on the chat metrics; later ones are counted as "other". */
const MAX_MODEL_LABELS = 20
/** How long shutdown waits for open streams to send their error event and end. */
const STREAM_DRAIN_TIMEOUT_MS = 2_000

export interface ChatServiceDeps {
  provider: ChatProvider
  cache: TieredCache
  metrics: Metrics
  repos: ChatRepositories
  config: Config['chat']
  /** CACHE_SCOPE: `scope` keeps each scope's cached replies its own; `global` shares them. */
  cacheScope: Config['cache']['scope']
  /** Usage accounting and budgets (reserve before the model call, settle after). */
  usage?: UsageService
  log: FastifyBaseLogger
  /** Rate limits per token: the routes admit a request before the model call and settle after. */
  limits: ChatLimits
}

/**
 * Completions through the response cache, with their metrics and analytics; the conversation
 * flow (store, complete with history, store the reply); cache warming for the jobs.
 */
export class ChatService {
  /** Aborted when shutdown begins: streamed replies end with an error event at once. */
  private readonly closingStreams = new AbortController()
  /** Aborted at the shutdown deadline: a non-streamed reply still running then gets a 503 instead of a cut connection. */
  private readonly closing = new AbortController()
  private readonly modelLabels = new Set<string>()
  /** Streaming responses under way (the routes register them). */
  readonly streams = new OpenStreams()

  constructor(private readonly deps: ChatServiceDeps) {}

  get provider(): ChatProvider {
    return this.deps.provider
  }

  get limits(): ChatLimits {
    return this.deps.limits
  }

  get repos(): ChatRepositories {
    return this.deps.repos
  }

  /**
   * Graceful shutdown: streamed completions in flight fail with 503 at once, so open streams
   * end with an error event; resolves once they have. Non-streamed ones (whose clients are
   * owed a whole answer, and in the conversation flow a stored reply) may finish within
   * `graceMs`, then fail with 503 too.
   */
  async close(graceMs = 0): Promise<void> {
    const reason = serviceUnavailable('The server is shutting down; retry the request')
    this.closingStreams.abort(reason)
    if (graceMs > 0) setTimeout(() => this.closing.abort(reason), graceMs).unref()
    else this.closing.abort(reason)
    await this.streams.drained(STREAM_DRAIN_TIMEOUT_MS)
  }

  async complete(input: CompletionInput): Promise<CompletionResult> {
    const { provider, cache } = this.deps
    const started = performance.now()
    const model = provider.resolveModel(input.model)
    const params = input.params ?? {}
    const control = input.cache ?? {}
    const identity = aiResponseIdentity({
      scope: this.deps.cacheScope === 'global' ? null : input.scope,
      provider: provider.name,
      model,
      messages: input.messages,
      params,
      openai: input.openai,
    })
    const namespace = control.namespace ? `ai_response:${control.namespace}` : 'ai_response'
    const cacheKey = cache.key(namespace, identity)
    // A computation that will be cached is shared with identical requests, so one client leaving must not cancel it.
    const ownAnswer = control.noCache || control.noStore
    // (closingStreams is aborted first, so a stream needs no other shutdown signal.)
    const shutdown = input.sink ? this.closingStreams.signal : this.closing.signal
    const signal = ownAnswer && input.signal ? AbortSignal.any([shutdown, input.signal]) : shutdown
    let computed = false
    let firstTokenAt: number | undefined
    let sinkStarted = false
    let upstream: string | null = null
    // (No named closures on this path: tsx keeps function names by wrapping every named
    // closure at creation, a measurable cost per request; method syntax is not wrapped.)
    let result: CompletionResult
    const usage = input.principal && this.deps.usage
    const ticket = usage
      ? await usage.reserve(input.principal!, model, this.deps.limits.reservation(input.messages, params.max_tokens))
      : undefined
    try {
      const { value } = await cache.getOrCompute<Completion>(
        namespace,
        identity,
        () => {
          computed = true
          return provider.complete(
            { model, messages: input.messages, params, ...(input.openai ? { openai: input.openai } : {}) },
            {
              signal,
              tokensReachClient: input.sink !== undefined,
              onUpstream(name: string) {
                upstream = name
              },
              onChunk(chunk: CompletionChunk) {
                firstTokenAt ??= performance.now()
                if (!sinkStarted) {
                  sinkStarted = true
                  input.sink?.start({ cached: false, cacheKey, upstream })
                }
                input.sink?.chunk(chunk)
              },
            },
          )
        },
        { ttl: control.ttl, noCache: control.noCache, noStore: control.noStore, fullKey: cacheKey },
      )
      if (!sinkStarted) {
        sinkStarted = true
        input.sink?.start({ cached: !computed, cacheKey, upstream: computed ? upstream : null })
      }
      const answer = withChoices(value)
      if (!computed && input.sink) for (const chunk of answer.chunks) input.sink.chunk(chunk)
      result = {
        ...answer,
        cached: !computed,
        cacheKey,
        latencyMs: Math.round(performance.now() - started),
        upstream: computed ? upstream : null,
      }
    } catch (err) {
      if (ticket)
        void usage!.release(ticket).catch((e: unknown) => this.deps.log.warn({ err: e }, 'usage release failed'))
      const error = shutdown.aborted
        ? (shutdown.reason as AppError)
        : signal.aborted
          ? new AppError(499, 'client_closed_request', 'The client closed the connection before the reply was complete')
          : abortedBy(err)
      this.observeFailure(input, model, cacheKey, Math.round(performance.now() - started), error)
      throw error
    }
    if (ticket)
      await usage!.settle(ticket, {
        model: result.model,
        upstream: result.upstream,
        cached: result.cached,
        prompt_tokens: result.usage.prompt_tokens,
        completion_tokens: result.usage.completion_tokens,
      })
    this.observe(input, model, result, firstTokenAt === undefined ? null : firstTokenAt - started)
    return result
  }

  /**
   * Computes and caches the reply to `messages` unless it is cached already (the cache-warm
   * job feeds it `repos.analytics.topPrompts`), in `scope`'s cache: the scope that asked it.
   * No analytics event: warming is not demand.
   */
  async warm(
    scope: string,
    messages: ChatMessage[],
    model?: string,
    params: SamplingParams = {},
  ): Promise<{ warmed: boolean; cacheKey: string }> {
    const result = await this.complete({ scope, messages, model, params, api: 'warm' })
    return { warmed: !result.cached, cacheKey: result.cacheKey }
  }

  /**
   * The conversation flow: stores the user message, completes with the recent history, stores
   * the assistant message (model, tokens, latency, cached). A failed completion leaves the user
   * message stored.
   */
  async postMessage(
    conversation: Conversation,
    input: Omit<CompletionInput, 'messages' | 'api' | 'sessionId' | 'conversationId' | 'scope'> & { content: string },
    /** Whose cache the reply goes through: the conversation's scope, or (a conversation from before tenancy) the caller's. */
    scope: string,
    retry: {
      /** The user message an earlier attempt of this request (same Idempotency-Key) stored already. */
      userMessage?: Message
      /** Told once the user message is stored, before the completion runs. */
      onUserMessage?: (message: Message) => Promise<void>
    } = {},
  ): Promise<{ message: Message; reply: Message; result: CompletionResult }> {
    const { messages, sessions, conversations } = this.deps.repos
    const message =
      retry.userMessage ??
      (await messages.insert({ conversation_id: conversation.id, role: 'user', content: input.content }))
    if (!retry.userMessage) await retry.onUserMessage?.(message)
    const now = new Date()
    const [history] = await Promise.all([
      messages.recent(conversation.id, this.deps.config.historyMessages),
      conversations.touch(conversation.id, now),
      sessions.touch(conversation.session_id, now),
    ])
    const result = await this.complete({
      ...input,
      scope,
      messages: history.map((m) => ({ role: m.role, content: m.content })),
      model: input.model ?? conversation.model ?? undefined,
      api: 'conversation',
      sessionId: conversation.session_id,
      conversationId: conversation.id,
    })
    const reply = await messages.insert({
      conversation_id: conversation.id,
      role: 'assistant',
      content: result.content,
      model: result.model,
      tokens_input: result.usage.prompt_tokens,
      tokens_output: result.usage.completion_tokens,
      latency_ms: result.latencyMs,
      cached: result.cached,
    })
    return { message, reply, result }
  }

  /** Embeddings from the provider, with the caller's usage recorded and budget enforced like a completion's. */
  async embeddings(
    input: Omit<EmbeddingsRequest, 'model'> & { model?: string; principal?: Principal | null; signal?: AbortSignal },
  ): Promise<EmbeddingsResponse> {
    const { provider } = this.deps
    const model = provider.resolveModel(input.model)
    const usage = input.principal && this.deps.usage
    const texts = (Array.isArray(input.input) ? input.input : [input.input]).map((v) =>
      typeof v === 'string' ? v : JSON.stringify(v),
    )
    const estimate = estimatePromptTokens(texts.map((content) => ({ role: 'user' as const, content })))
    const ticket = usage ? await usage.reserve(input.principal!, model, { prompt: estimate, output: 0 }) : undefined
    let response: EmbeddingsResponse
    try {
      const signal = input.signal ? AbortSignal.any([this.closing.signal, input.signal]) : this.closing.signal
      response = await provider.embeddings({ model, input: input.input, fields: input.fields }, { signal })
    } catch (err) {
      if (ticket)
        void usage!.release(ticket).catch((e: unknown) => this.deps.log.warn({ err: e }, 'usage release failed'))
      throw err
    }
    if (ticket)
      await usage!.settle(ticket, {
        model: response.model ?? model,
        cached: false,
        prompt_tokens: response.usage?.prompt_tokens ?? estimate,
        completion_tokens: 0,
      })
    return response
  }

  /** The provider's models, cached in the `models` namespace. */
  async listModels(): Promise<ModelInfo[]> {
    const { provider, cache, config } = this.deps
    const source = provider.name === 'openai' ? `openai ${config.openai.baseUrl}` : provider.name
    const { value } = await cache.getOrCompute('models', source, () => provider.listModels(this.closing.signal))
    return value
  }

  private observe(input: CompletionInput, model: string, result: CompletionResult, ttftMs: number | null): void {
    const { metrics, provider } = this.deps
    const labels = { provider: provider.name, model: this.modelLabel(result.model) }
    const cached = String(result.cached)
    metrics.chatRequestsTotal.inc({ ...labels, cached, status: 'ok' })
    metrics.chatCompletionDuration.observe({ ...labels, cached }, result.latencyMs / 1000)
    // Time to first token and token counts describe generation: a cached reply generated nothing.
    if (!result.cached) {
      if (ttftMs !== null) metrics.chatTimeToFirstToken.observe(labels, ttftMs / 1000)
      metrics.chatTokensTotal.inc({ ...labels, direction: 'input' }, result.usage.prompt_tokens)
      metrics.chatTokensTotal.inc({ ...labels, direction: 'output' }, result.usage.completion_tokens)
    }
    this.recordEvent(input, model, result.cacheKey, {
      model: result.model,
      status: 'ok',
      cached: result.cached,
      latency_ms: result.latencyMs,
      ttft_ms: ttftMs === null ? null : Math.round(ttftMs),
      tokens_input: result.usage.prompt_tokens,
      tokens_output: result.usage.completion_tokens,
    })
  }

  private observeFailure(
    input: CompletionInput,
    model: string,
    cacheKey: string,
    latencyMs: number,
    err: unknown,
  ): void {
    const { metrics, provider } = this.deps
    const labels = { provider: provider.name, model: this.modelLabel(model) }
    metrics.chatRequestsTotal.inc({ ...labels, cached: 'false', status: 'error' })
    metrics.chatCompletionDuration.observe({ ...labels, cached: 'false' }, latencyMs / 1000)
    this.recordEvent(input, model, cacheKey, {
      model,
      status: 'error',
      cached: false,
      latency_ms: latencyMs,
      ttft_ms: null,
      tokens_input: 0,
      tokens_output: 0,
      error_code: err instanceof AppError ? err.code : 'internal_error',
    })
  }

  /**
   * One analytics_events row per request (warming is not demand and writes none). It keeps the
   * prompt hash, and the normalized prompt when small, so the cache-warm job can replay the
   * most frequent ones. Queued, not awaited: the repository writes events in batches, and a
   * failed write is logged there, never passed on to the client.
   */
  private recordEvent(
    input: CompletionInput,
    model: string,
    cacheKey: string,
    outcome: Omit<ChatCompletionEventData, 'api' | 'provider' | 'stream' | 'prompt_hash' | 'prompt'>,
  ): void {
    if (input.api === 'warm') return
    const messages = input.messages.map((m) => ({ role: m.role, content: normalizeText(m.content) }))
    const size = messages.reduce((n, m) => n + m.content.length, 0)
    const data: ChatCompletionEventData = {
      api: input.api,
      scope: input.scope,
      provider: this.deps.provider.name,
      stream: input.stream ?? false,
      ...outcome,
      prompt_hash: cacheKey.slice(cacheKey.lastIndexOf(':') + 1),
      ...(size <= PROMPT_SAMPLE_MAX_CHARS
        ? { prompt: { model, messages, params: input.params ?? {} } satisfies PromptSample }
        : {}),
    }
    this.deps.repos.analytics.recordCompletion({
      session_id: input.sessionId,
      conversation_id: input.conversationId,
      data,
    })
  }

  private modelLabel(model: string): string {
    if (this.modelLabels.has(model)) return model
    if (this.modelLabels.size >= MAX_MODEL_LABELS) return 'other'
    this.modelLabels.add(model)
    return model
  }
}

/** A cached answer from before choices and chunks were kept: its text as one choice, replayed a token a chunk. */
function withChoices(value: Completion): Completion {
  if (Array.isArray(value.choices) && Array.isArray(value.chunks)) return value
  const choices = [
    {
      index: 0,
      message: { role: 'assistant' as const, content: value.content, refusal: null },
      logprobs: null,
      finish_reason: value.finish_reason,
    },
  ]
  const chunks: CompletionChunk[] = splitTokens(value.content).map((content) => ({
    choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }],
  }))
  chunks.push(...chunksOf(choices).slice(-1))
  return { ...value, choices, chunks }
}

/**
 * An abort whose reason is one of ours is that error: a caller sharing a computation that a
 * streamed request's shutdown abort stopped sees the 503, not a bare AbortError.
 */
function abortedBy(err: unknown): unknown {
  return err instanceof Error && err.name === 'AbortError' && err.cause instanceof AppError ? err.cause : err
}
