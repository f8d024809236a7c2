import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A scripted answer for the next completion call instead of the normal reply. */
export interface ScriptedResponse {
  status: number
  body?: unknown
  headers?: Record<string, string>
}

export interface FakeUpstream {
  /** Base URL including /v1, as OPENAI_BASE_URL takes it. */
  url: string
  /** POST /v1/chat/completions calls so far. */
  completionCalls: number
  modelsCalls: number
  /** The body of every completion call, parsed and as the bytes that came. */
  requests: Array<Record<string, any>>
  rawBodies: string[]
  /** The body of every POST /v1/embeddings. */
  embeddingRequests: Array<Record<string, any>>
  /** Stream these chunk objects (each in the usual envelope) instead of the echo, then [DONE]. */
  streamChunks: Array<Record<string, unknown>> | null
  authorizations: Array<string | undefined>
  /** Answers for the next calls, in order (then back to normal replies). */
  script: ScriptedResponse[]
  /** Wait this long before answering a completion. */
  delayMs: number
  /** Wait this long between streamed tokens. */
  tokenDelayMs: number
  /** Stream two tokens, then cut the connection. */
  failMidStream: boolean
  /** Stream two tokens, then send this as an `{ error }` event and end the stream. */
  midStreamError: unknown
  modelsStatus: number
  /** Completion calls being answered now, and the most there ever were at once. */
  inFlight: number
  maxInFlight: number
  /** The model ids GET /v1/models lists. */
  modelIds: string[]
  /** Back to normal answers: no script, no delays, no failures (the counters are kept). */
  reset(): void
  /** Stops listening and cuts every open connection (a crashed server: connections are refused). */
  kill(): Promise<void>
  /** Listens again on the same port after kill(). */
  revive(): Promise<void>
  close(): Promise<void>
}

/** How the fake answers until a test says otherwise. */
const BEHAVIOUR = {
  delayMs: 0,
  tokenDelayMs: 0,
  failMidStream: false,
  midStreamError: null,
  modelsStatus: 200,
  streamChunks: null,
} satisfies Partial<FakeUpstream>

export function upstreamReply(messages: Array<{ content: string }>): string {
  return `Upstream echo: ${messages.at(-1)?.content ?? ''} (from ${messages.length} messages)`
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A real local HTTP server speaking the OpenAI Chat Completions protocol, streaming included. */
export async function startFakeUpstream(): Promise<FakeUpstream> {
  const state: Omit<FakeUpstream, 'url' | 'close' | 'reset' | 'kill' | 'revive'> = {
    completionCalls: 0,
    modelsCalls: 0,
    requests: [],
    rawBodies: [],
    embeddingRequests: [],
    authorizations: [],
    script: [],
    ...BEHAVIOUR,
    inFlight: 0,
    maxInFlight: 0,
    modelIds: ['fake-model-1'],
  }
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
  }
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url === '/v1/models') {
      state.modelsCalls++
      if (state.modelsStatus !== 200) return json(res, state.modelsStatus, { error: { message: 'models unavailable' } })
      return json(res, 200, {
        object: 'list',
        data: state.modelIds.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'fake' })),
      })
    }
    const embeddings = req.method === 'POST' && req.url === '/v1/embeddings'
    if (!embeddings && (req.method !== 'POST' || req.url !== '/v1/chat/completions'))
      return json(res, 404, { error: { message: 'no such route' } })
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const body = JSON.parse(raw) as Record<string, any>
    if (embeddings) return json(res, 200, fakeEmbeddings(state, body))
    state.completionCalls++
    state.requests.push(body)
    state.rawBodies.push(raw)
    state.authorizations.push(req.headers.authorization)
    if (state.delayMs) await sleep(state.delayMs)
    const scripted = state.script.shift()
    if (scripted)
      return json(
        res,
        scripted.status,
        scripted.body ?? { error: { message: `scripted ${scripted.status}` } },
        scripted.headers,
      )
    const words = upstreamReply(body.messages).match(/\S+\s*/g) ?? []
    const usage = { prompt_tokens: 11, completion_tokens: words.length, total_tokens: 11 + words.length }
    const base = {
      id: 'chatcmpl-fake',
      object: 'chat.completion.chunk',
      created: 1700000000,
      model: `${body.model}-2026`,
    }
    if (!body.stream) {
      return json(res, 200, {
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: words.join('') }, finish_reason: 'stop' }],
        usage,
      })
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const send = (data: unknown) => res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`)
    if (state.streamChunks) {
      for (const chunk of state.streamChunks) send({ ...base, ...chunk })
      send('[DONE]')
      return res.end()
    }
    send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })
    for (const [i, word] of words.entries()) {
      if (state.midStreamError && i === 2) {
        send({ error: state.midStreamError })
        return res.end()
      }
      if (state.failMidStream && i === 2) {
        // Let the tokens already written reach the client, then cut the connection.
        await sleep(100)
        return res.destroy()
      }
      if (state.tokenDelayMs) await sleep(state.tokenDelayMs)
      send({ ...base, choices: [{ index: 0, delta: { content: word }, finish_reason: null }] })
    }
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })
    if (body.stream_options?.include_usage) send({ ...base, choices: [], usage })
    send('[DONE]')
    res.end()
  }
  const server = createServer((req, res) => {
    const completion = req.method === 'POST' && req.url === '/v1/chat/completions'
    if (completion) {
      state.inFlight++
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight)
      res.once('close', () => state.inFlight--)
    }
    handle(req, res).catch(() => res.destroy())
  })
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  await listen(0)
  const { port } = server.address() as AddressInfo
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
      if (!server.listening) resolve()
    })
  const upstream = Object.assign(state, {
    url: `http://127.0.0.1:${port}/v1`,
    reset: () => void Object.assign(state, { script: [], ...BEHAVIOUR }),
    kill: close,
    revive: () => listen(port),
    close,
  })
  return upstream
}

/** An embedding per input: [length of the text, index, 0.5], as floats or base64 Float32 as asked. */
function fakeEmbeddings(state: { embeddingRequests: Array<Record<string, any>> }, body: Record<string, any>) {
  state.embeddingRequests.push(body)
  const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input]
  const data = inputs.map((input, index) => {
    const vector = [String(input).length, index, 0.5]
    const embedding =
      body.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector
    return { object: 'embedding', index, embedding }
  })
  return { object: 'list', data, model: `${body.model}-embed`, usage: { prompt_tokens: 7, total_tokens: 7 } }
}
