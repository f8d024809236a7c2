import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'
import { AppError, badGateway, gatewayTimeout } from '../../errors.js'
import { redactCredentials } from '../../infra/http/log-redaction.js'
import { SseDataParser } from '../sse.js'
import { estimatePromptTokens, estimateTokens } from '../tokens.js'
import { carriesSomething, ChoiceAssembler, chunksOf, firstChoice } from './chunks.js'
import type {
  ChatProvider,
  Completion,
  CompleteOptions,
  CompletionChoice,
  CompletionChunk,
  EmbeddingsRequest,
  EmbeddingsResponse,
  ModelInfo,
  ProviderRequest,
  Usage,
} from './types.js'
import { UpstreamClient, type UpstreamResponse } from './upstream-client.js'

export type OpenAISettings = Config['chat']['openai']

/**
 * A failed attempt; `retryable` ones (429, 5xx, network) are tried again while no token has
 * gone out. `message` is ours and may reach the client ("answered 401", completing "The
 * upstream …"); `detail` is what the upstream or the network said, for the log only: an
 * upstream's error text can carry the API key it was sent.
 */
class UpstreamError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly options: { retryAfterMs?: number; status?: number; detail?: string } = {},
  ) {
    super(message)
  }
}

const RETRY_BASE_MS = 200
const RETRY_MAX_MS = 5_000
const MODELS_TIMEOUT_MS = 10_000

/**
 * Any OpenAI-compatible upstream (OpenAI, Ollama, vLLM, llama.cpp server). Every call streams
 * from the upstream, so one code path serves streaming and non-streaming clients. The whole
 * call has OPENAI_TIMEOUT_MS (→ 504); 429/5xx and connection failures are retried with
 * backoff while no token has been passed on (→ 502 once retries run out).
 */
export class OpenAIProvider implements ChatProvider {
  readonly name = 'openai' as const
  /** Completions, the hot path, go over kept-alive node:http connections; the rare models calls use fetch. */
  private readonly client: UpstreamClient
  private readonly completionsUrl: URL
  private readonly embeddingsUrl: URL

  constructor(
    private readonly settings: OpenAISettings,
    private readonly log: FastifyBaseLogger,
  ) {
    this.client = new UpstreamClient(settings.baseUrl)
    this.completionsUrl = new URL(`${settings.baseUrl}/chat/completions`)
    this.embeddingsUrl = new URL(`${settings.baseUrl}/embeddings`)
  }

  close(): void {
    this.client.close()
  }

  resolveModel(requested: string | undefined): string {
    return requested ?? this.settings.model
  }

  readonly healthCheck = async (signal: AbortSignal) => {
    const response = await fetch(`${this.settings.baseUrl}/models`, { headers: this.headers(), signal })
    await response.body?.cancel()
    if (!response.ok) throw new Error(`GET /models answered ${response.status}`)
  }

  async listModels(signal: AbortSignal): Promise<ModelInfo[]> {
    const deadline = AbortSignal.timeout(Math.min(this.settings.timeoutMs, MODELS_TIMEOUT_MS))
    let response: Response
    try {
      response = await fetch(`${this.settings.baseUrl}/models`, {
        headers: this.headers(),
        signal: AbortSignal.any([signal, deadline]),
      })
    } catch (err) {
      if (deadline.aborted) throw gatewayTimeout('The upstream did not list its models in time')
      this.logFailure('models', { upstreamError: reason(err) })
      throw badGateway('The upstream could not be reached to list its models')
    }
    if (!response.ok) {
      const detail = errorDetail(await response.text().catch(() => ''))
      this.logFailure('models', { upstreamStatus: response.status, upstreamError: detail })
      throw badGateway(`The upstream answered ${response.status} when listing models`, response.status)
    }
    const body = (await response.json().catch(() => null)) as { data?: Array<Partial<ModelInfo>> } | null
    if (!Array.isArray(body?.data)) throw badGateway('The upstream sent a models list this service cannot read')
    return body.data
      .filter((m): m is Partial<ModelInfo> & { id: string } => typeof m?.id === 'string')
      .map((m) => ({
        id: m.id,
        object: 'model',
        created: typeof m.created === 'number' ? m.created : 0,
        owned_by: typeof m.owned_by === 'string' ? m.owned_by : 'upstream',
      }))
  }

  /** POST /embeddings, the request forwarded as it came (model resolved); one attempt, within OPENAI_TIMEOUT_MS. */
  async embeddings(request: EmbeddingsRequest, { signal }: { signal: AbortSignal }): Promise<EmbeddingsResponse> {
    const deadline = new CallDeadline(signal, this.settings.timeoutMs)
    let response: UpstreamResponse
    try {
      response = await this.client.request(this.embeddingsUrl, {
        method: 'POST',
        headers: { ...this.headers(), 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ ...request.fields, model: request.model, input: request.input }),
        signal: deadline.signal,
      })
      const text = await response.text()
      if (response.status < 200 || response.status > 299) {
        this.logFailure('embeddings', { upstreamStatus: response.status, upstreamError: errorDetail(text) })
        throw badGateway(`The upstream answered ${response.status} to the embeddings request`, response.status)
      }
      const body = JSON.parse(text) as EmbeddingsResponse
      if (!Array.isArray(body?.data)) throw new Error('no data list')
      return body
    } catch (err) {
      if (deadline.timedOut) throw gatewayTimeout(`The upstream did not answer within ${this.settings.timeoutMs} ms`)
      if (signal.aborted) throw signal.reason
      if (err instanceof AppError) throw err
      this.logFailure('embeddings', { upstreamError: reason(err) })
      throw badGateway('The upstream could not be reached or sent embeddings this service cannot read')
    } finally {
      deadline.clear()
    }
  }

  async complete(request: ProviderRequest, { signal, onChunk }: CompleteOptions): Promise<Completion> {
    const deadline = new CallDeadline(signal, this.settings.timeoutMs)
    try {
      return await this.completeWithin(request, signal, deadline, onChunk)
    } finally {
      deadline.clear()
    }
  }

  private async completeWithin(
    request: ProviderRequest,
    signal: AbortSignal,
    deadline: CallDeadline,
    onChunk: (chunk: CompletionChunk) => void,
  ): Promise<Completion> {
    const combined = deadline.signal
    let emitted = 0
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(request, combined, (chunk) => {
          emitted++
          onChunk(chunk)
        })
      } catch (err) {
        if (deadline.timedOut) throw gatewayTimeout(`The upstream did not finish within ${this.settings.timeoutMs} ms`)
        if (signal.aborted) throw signal.reason
        const failure = err instanceof UpstreamError ? err : new UpstreamError('failed', false, { detail: reason(err) })
        const { status, detail, retryAfterMs } = failure.options
        this.logFailure('completion', {
          attempt: attempt + 1,
          ...(status === undefined ? {} : { upstreamStatus: status }),
          upstreamError: detail ?? failure.message,
        })
        if (!failure.retryable || emitted > 0 || attempt >= this.settings.maxRetries) {
          const attempts = attempt > 0 ? ` (${attempt + 1} attempts)` : ''
          throw badGateway(
            emitted > 0
              ? `The upstream failed mid-stream: it ${failure.message}`
              : `The upstream ${failure.message}${attempts}`,
            status,
          )
        }
        const backoff = Math.min(RETRY_BASE_MS * 2 ** attempt, RETRY_MAX_MS) * (0.75 + Math.random() / 2)
        try {
          await sleep(Math.max(backoff, Math.min(retryAfterMs ?? 0, RETRY_MAX_MS * 2)), undefined, {
            signal: combined,
          })
        } catch {
          if (deadline.timedOut)
            throw gatewayTimeout(`The upstream did not finish within ${this.settings.timeoutMs} ms`)
          throw signal.reason
        }
      }
    }
  }

  private async attempt(
    request: ProviderRequest,
    signal: AbortSignal,
    onChunk: (chunk: CompletionChunk) => void,
  ): Promise<Completion> {
    let response: UpstreamResponse
    try {
      response = await this.client.request(this.completionsUrl, {
        method: 'POST',
        headers: {
          ...this.headers(),
          'content-type': 'application/json',
          accept: 'text/event-stream, application/json',
        },
        body: JSON.stringify(upstreamBody(request)),
        signal,
      })
    } catch (err) {
      throw new UpstreamError('could not be reached', true, { detail: reason(err) })
    }
    let completed = false
    try {
      if (response.status < 200 || response.status > 299) {
        const retryable = response.status === 429 || response.status >= 500
        throw new UpstreamError(`answered ${response.status}`, retryable, {
          status: response.status,
          detail: errorDetail(await response.text().catch(() => '')),
          retryAfterMs: retryAfterMs(response.header('retry-after') ?? null),
        })
      }
      if (response.status === 204 || response.status === 205) throw new UpstreamError('sent an empty response', true)
      // Some servers ignore `stream` and answer with one JSON completion.
      const completion = (response.header('content-type') ?? '').includes('application/json')
        ? this.fromJson(request, JSON.parse(await response.text()), onChunk)
        : await this.fromStream(request, response.body, onChunk)
      completed = true
      return completion
    } finally {
      response.release(completed)
    }
  }

  private async fromStream(
    request: ProviderRequest,
    body: AsyncIterable<Uint8Array>,
    onChunk: (chunk: CompletionChunk) => void,
  ): Promise<Completion> {
    const state: StreamState = {
      assembler: new ChoiceAssembler(),
      chunks: [],
      model: request.model,
      usage: null,
      fingerprint: undefined,
      done: false,
      onChunk,
    }
    const parser = new SseDataParser()
    try {
      // The events of a chunk are handled synchronously (an async generator costs a promise per event).
      reading: for await (const bytes of body) {
        for (const data of parser.push(bytes)) if (applyEvent(state, data)) break reading
      }
      if (!state.done) for (const data of parser.end()) if (applyEvent(state, data)) break
    } catch (err) {
      if (err instanceof UpstreamError) throw err
      throw new UpstreamError('broke off its stream', true, { detail: reason(err) })
    }
    if (!state.done && !state.assembler.finished) throw new UpstreamError('closed its stream before finishing', true)
    const choices = state.assembler.result()
    return completion(request, choices, state.chunks, state.model, state.usage, state.fingerprint)
  }

  private fromJson(request: ProviderRequest, body: unknown, onChunk: (chunk: CompletionChunk) => void): Completion {
    const parsed = body as {
      model?: string
      usage?: Partial<Usage> | null
      system_fingerprint?: string | null
      choices?: Array<Partial<CompletionChoice>>
    }
    if (!Array.isArray(parsed.choices) || parsed.choices.length === 0)
      throw new UpstreamError('answered without a choice', false)
    const choices = parsed.choices.map((c, i) => ({
      index: typeof c.index === 'number' ? c.index : i,
      message: { refusal: null, ...c.message, role: 'assistant' as const, content: c.message?.content ?? null },
      logprobs: c.logprobs ?? null,
      finish_reason: c.finish_reason ?? 'stop',
    }))
    const chunks = chunksOf(choices)
    for (const chunk of chunks) onChunk(chunk)
    return completion(
      request,
      choices,
      chunks,
      parsed.model ?? request.model,
      readUsage(parsed.usage),
      parsed.system_fingerprint,
    )
  }

  /** What the upstream said, for the operator: the client gets our message, never this text. */
  private logFailure(call: string, fields: { attempt?: number; upstreamStatus?: number; upstreamError: string }): void {
    this.log.warn({ call, ...fields, upstreamError: redactCredentials(fields.upstreamError) }, 'upstream call failed')
  }

  private headers(): Record<string, string> {
    return this.settings.apiKey ? { authorization: `Bearer ${this.settings.apiKey}` } : {}
  }
}

/**
 * The caller's signal and the call's timeout as one signal. AbortSignal.timeout() with
 * AbortSignal.any() does the same at about 15 µs a call (weakly held timers and signals);
 * this is a timer and a listener, both released by clear().
 */
class CallDeadline {
  private readonly controller = new AbortController()
  private readonly timer: NodeJS.Timeout
  timedOut = false

  constructor(
    private readonly parent: AbortSignal,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true
      this.controller.abort(new DOMException('The operation timed out', 'TimeoutError'))
    }, timeoutMs).unref()
    if (parent.aborted) this.controller.abort(parent.reason)
    else parent.addEventListener('abort', this, { once: true })
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  /** The parent's abort (this object is its listener: no closure to allocate per call). */
  handleEvent(): void {
    this.controller.abort(this.parent.reason)
  }

  clear(): void {
    clearTimeout(this.timer)
    this.parent.removeEventListener('abort', this)
  }
}

interface StreamState {
  assembler: ChoiceAssembler
  chunks: CompletionChunk[]
  model: string
  usage: Usage | null
  fingerprint: string | null | undefined
  /** `data: [DONE]` arrived. */
  done: boolean
  onChunk: (chunk: CompletionChunk) => void
}

/** One event of an upstream stream into `state`, relayed when it carries something; true once the stream says it is done. */
function applyEvent(state: StreamState, data: string): boolean {
  if (data === '[DONE]') {
    state.done = true
    return true
  }
  const parsed = parseChunk(data)
  if (parsed.error)
    throw new UpstreamError('reported an error', true, { detail: parsed.error.message ?? JSON.stringify(parsed.error) })
  const {
    id: _id,
    object: _object,
    created: _created,
    model,
    usage,
    system_fingerprint,
    error: _error,
    choices,
    ...extra
  } = parsed
  if (typeof model === 'string') state.model = model
  if (system_fingerprint !== undefined) state.fingerprint = system_fingerprint
  if (usage) state.usage = readUsage(usage)
  if (!Array.isArray(choices) || choices.length === 0) return false
  const chunk: CompletionChunk = { ...extra, choices }
  state.assembler.add(chunk)
  if (choices.some(carriesSomething)) {
    state.chunks.push(chunk)
    state.onChunk(chunk)
  }
  return false
}

interface UpstreamChunk {
  id?: unknown
  object?: unknown
  created?: unknown
  model?: string
  system_fingerprint?: string | null
  error?: { message?: string }
  usage?: Partial<Usage> | null
  choices?: CompletionChunk['choices']
  [field: string]: unknown
}

function readUsage(usage: Partial<Usage> | null | undefined): Usage | null {
  if (!usage) return null
  return { ...usage, prompt_tokens: usage.prompt_tokens ?? 0, completion_tokens: usage.completion_tokens ?? 0 }
}

function completion(
  request: ProviderRequest,
  choices: CompletionChoice[],
  chunks: CompletionChunk[],
  model: string,
  usage: Usage | null,
  fingerprint: string | null | undefined,
): Completion {
  const first = firstChoice(choices)
  return {
    ...first,
    model,
    usage: usage ?? estimateUsage(request, first.content),
    choices,
    chunks,
    ...(fingerprint === undefined ? {} : { system_fingerprint: fingerprint }),
  }
}

/**
 * What goes upstream: the client's messages and fields as they came (tools, content parts …),
 * our sampling parameters (max_tokens only when the client did not say max_completion_tokens),
 * and always a stream with usage, so one code path reads every answer.
 */
function upstreamBody(request: ProviderRequest): Record<string, unknown> {
  const { fields, messages } = request.openai ?? { fields: {}, messages: request.messages }
  const { max_tokens, ...params } = request.params
  return {
    ...fields,
    model: request.model,
    messages,
    ...params,
    ...(max_tokens === undefined || 'max_completion_tokens' in fields ? {} : { max_tokens }),
    stream: true,
    stream_options: { include_usage: true },
  }
}

function parseChunk(data: string): UpstreamChunk {
  try {
    return JSON.parse(data) as UpstreamChunk
  } catch {
    throw new UpstreamError('sent a stream chunk that is not JSON', true, { detail: data.slice(0, 500) })
  }
}

function estimateUsage(request: ProviderRequest, content: string): Completion['usage'] {
  return { prompt_tokens: estimatePromptTokens(request.messages), completion_tokens: estimateTokens(content) }
}

/** The message of an OpenAI-style error body, or the start of any other body (for the log). */
function errorDetail(text: string): string {
  try {
    const message = (JSON.parse(text) as { error?: { message?: string } | string }).error
    const detail = typeof message === 'string' ? message : message?.message
    if (detail) return detail.slice(0, 500)
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 500)
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const at = Date.parse(header)
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now())
}

function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = (err as Error & { cause?: unknown }).cause
  return cause instanceof Error ? `${err.message} (${cause.message})` : err.message
}
