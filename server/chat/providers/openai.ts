import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'
import { badGateway, gatewayTimeout } from '../../errors.js'
import { redactCredentials } from '../../infra/http/log-redaction.js'
import { SseDataParser } from '../sse.js'
import { estimatePromptTokens, estimateTokens } from '../tokens.js'
import type { ChatProvider, Completion, CompleteOptions, ModelInfo, ProviderRequest } from './types.js'
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

  constructor(
    private readonly settings: OpenAISettings,
    private readonly log: FastifyBaseLogger,
  ) {
    this.client = new UpstreamClient(settings.baseUrl)
    this.completionsUrl = new URL(`${settings.baseUrl}/chat/completions`)
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

  async complete(request: ProviderRequest, { signal, onToken }: CompleteOptions): Promise<Completion> {
    const deadline = new CallDeadline(signal, this.settings.timeoutMs)
    try {
      return await this.completeWithin(request, signal, deadline, onToken)
    } finally {
      deadline.clear()
    }
  }

  private async completeWithin(
    request: ProviderRequest,
    signal: AbortSignal,
    deadline: CallDeadline,
    onToken: (text: string) => void,
  ): Promise<Completion> {
    const combined = deadline.signal
    let emitted = 0
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(request, combined, (text) => {
          emitted++
          onToken(text)
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
    onToken: (text: string) => void,
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
        body: JSON.stringify({
          model: request.model,
          messages: request.messages,
          ...request.params,
          stream: true,
          stream_options: { include_usage: true },
        }),
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
        ? this.fromJson(request, JSON.parse(await response.text()), onToken)
        : await this.fromStream(request, response.body, onToken)
      completed = true
      return completion
    } finally {
      response.release(completed)
    }
  }

  private async fromStream(
    request: ProviderRequest,
    body: AsyncIterable<Uint8Array>,
    onToken: (text: string) => void,
  ): Promise<Completion> {
    const state: StreamState = { content: '', finish: null, model: request.model, usage: null, done: false }
    const parser = new SseDataParser()
    try {
      // The events of a chunk are handled synchronously (an async generator costs a promise per event).
      reading: for await (const bytes of body) {
        for (const data of parser.push(bytes)) if (applyEvent(state, data, onToken)) break reading
      }
      if (!state.done) for (const data of parser.end()) if (applyEvent(state, data, onToken)) break
    } catch (err) {
      if (err instanceof UpstreamError) throw err
      throw new UpstreamError('broke off its stream', true, { detail: reason(err) })
    }
    if (!state.done && !state.finish) throw new UpstreamError('closed its stream before finishing', true)
    return {
      content: state.content,
      finish_reason: state.finish ?? 'stop',
      model: state.model,
      usage: state.usage ?? estimateUsage(request, state.content),
    }
  }

  private fromJson(request: ProviderRequest, body: unknown, onToken: (text: string) => void): Completion {
    const parsed = body as UpstreamChunk & {
      choices?: Array<{ message?: { content?: string | null }; finish_reason?: string | null }>
    }
    const choice = parsed.choices?.[0]
    if (!choice) throw new UpstreamError('answered without a choice', false)
    const content = choice.message?.content ?? ''
    if (content) onToken(content)
    const usage = parsed.usage
      ? { prompt_tokens: parsed.usage.prompt_tokens ?? 0, completion_tokens: parsed.usage.completion_tokens ?? 0 }
      : estimateUsage(request, content)
    return { content, finish_reason: choice.finish_reason ?? 'stop', model: parsed.model ?? request.model, usage }
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
  content: string
  finish: string | null
  model: string
  usage: Completion['usage'] | null
  /** `data: [DONE]` arrived. */
  done: boolean
}

/** One event of an upstream stream into `state`; true once the stream says it is done. */
function applyEvent(state: StreamState, data: string, onToken: (text: string) => void): boolean {
  if (data === '[DONE]') {
    state.done = true
    return true
  }
  const chunk = parseChunk(data)
  if (chunk.error)
    throw new UpstreamError('reported an error', true, { detail: chunk.error.message ?? JSON.stringify(chunk.error) })
  if (typeof chunk.model === 'string') state.model = chunk.model
  if (chunk.usage)
    state.usage = {
      prompt_tokens: chunk.usage.prompt_tokens ?? 0,
      completion_tokens: chunk.usage.completion_tokens ?? 0,
    }
  const choice = chunk.choices?.[0]
  const text = choice?.delta?.content
  if (typeof text === 'string' && text) {
    state.content += text
    onToken(text)
  }
  if (choice?.finish_reason) state.finish = choice.finish_reason
  return false
}

interface UpstreamChunk {
  model?: string
  error?: { message?: string }
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null
  choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>
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
