import { setTimeout as sleep } from 'node:timers/promises'
import type { Config } from '../../config.js'
import { badGateway, gatewayTimeout } from '../../errors.js'
import { SseDataParser } from '../sse.js'
import { estimatePromptTokens, estimateTokens } from '../tokens.js'
import type { ChatProvider, Completion, CompleteOptions, ModelInfo, ProviderRequest } from './types.js'
import { UpstreamClient, type UpstreamResponse } from './upstream-client.js'

export type OpenAISettings = Config['chat']['openai']

/** A failed attempt; `retryable` ones (429, 5xx, network) are tried again while no token has gone out. */
class UpstreamError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
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

  constructor(private readonly settings: OpenAISettings) {
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
      throw badGateway(`Could not reach the upstream to list models: ${reason(err)}`)
    }
    if (!response.ok)
      throw badGateway(
        `The upstream answered ${response.status} when listing models${errorDetail(await response.text().catch(() => ''))}`,
      )
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
        const failure = err instanceof UpstreamError ? err : new UpstreamError(reason(err), false)
        if (!failure.retryable || emitted > 0 || attempt >= this.settings.maxRetries) {
          throw badGateway(`Upstream failure${emitted > 0 ? ' mid-stream' : ''}: ${failure.message}`)
        }
        const backoff = Math.min(RETRY_BASE_MS * 2 ** attempt, RETRY_MAX_MS) * (0.75 + Math.random() / 2)
        try {
          await sleep(Math.max(backoff, Math.min(failure.retryAfterMs ?? 0, RETRY_MAX_MS * 2)), undefined, {
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
      throw new UpstreamError(`could not reach the upstream: ${reason(err)}`, true)
    }
    let completed = false
    try {
      if (response.status < 200 || response.status > 299) {
        const retryable = response.status === 429 || response.status >= 500
        const detail = errorDetail(await response.text().catch(() => ''))
        throw new UpstreamError(
          `the upstream answered ${response.status}${detail}`,
          retryable,
          retryAfterMs(response.header('retry-after') ?? null),
        )
      }
      if (response.status === 204 || response.status === 205)
        throw new UpstreamError('the upstream sent an empty response', true)
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
      throw new UpstreamError(`the upstream stream broke: ${reason(err)}`, true)
    }
    if (!state.done && !state.finish) throw new UpstreamError('the upstream closed the stream before finishing', true)
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
    if (!choice) throw new UpstreamError('the upstream answered without a choice', false)
    const content = choice.message?.content ?? ''
    if (content) onToken(content)
    const usage = parsed.usage
      ? { prompt_tokens: parsed.usage.prompt_tokens ?? 0, completion_tokens: parsed.usage.completion_tokens ?? 0 }
      : estimateUsage(request, content)
    return { content, finish_reason: choice.finish_reason ?? 'stop', model: parsed.model ?? request.model, usage }
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
    throw new UpstreamError(
      `the upstream reported an error: ${chunk.error.message ?? JSON.stringify(chunk.error)}`,
      true,
    )
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
    throw new UpstreamError('the upstream sent a stream chunk that is not JSON', true)
  }
}

function estimateUsage(request: ProviderRequest, content: string): Completion['usage'] {
  return { prompt_tokens: estimatePromptTokens(request.messages), completion_tokens: estimateTokens(content) }
}

/** `: message` from an OpenAI-style error body, or from a short text body; '' when there is nothing useful. */
function errorDetail(text: string): string {
  try {
    const message = (JSON.parse(text) as { error?: { message?: string } | string }).error
    const detail = typeof message === 'string' ? message : message?.message
    if (detail) return `: ${detail.slice(0, 500)}`
  } catch {
    // not JSON
  }
  return text && text.length <= 500 ? `: ${text.trim()}` : ''
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
