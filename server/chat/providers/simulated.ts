import { setTimeout as sleep } from 'node:timers/promises'
import { sha256Hex } from '../../cache/keys.js'
import { normalizeText } from '../identity.js'
import { badGateway } from '../../errors.js'
import { estimatePromptTokens, estimateTokens, splitTokens } from '../tokens.js'
import { ChoiceAssembler, firstChoice } from './chunks.js'
import { schemaExample } from './schema-example.js'
import type {
  ChatMessage,
  ChatProvider,
  Completion,
  CompleteOptions,
  CompletionChunk,
  EmbeddingsRequest,
  EmbeddingsResponse,
  ModelInfo,
  ProviderRequest,
} from './types.js'

/** Named so that nobody takes its output for a real model's. */
export const SIMULATED_MODEL = 'simulated-no-llm'
/** 2026-01-01, so the models list does not change from run to run. */
const CREATED = 1_767_225_600

export interface SimulatedSettings {
  tokensPerSecond: number
  firstTokenMs: number
  errorRate: number
}

const WORDS = (
  'the a an this that every some request reply cache token stream latency metric alert ' +
  'queue job index query vacuum replica shard cluster instance node worker pool budget ' +
  'quickly quietly steadily safely slowly brightly calmly simply clearly barely ' +
  'measures serves warms checks streams answers retries records signals balances ' +
  'green amber quiet busy small large fresh stale warm cold steady'
).split(' ')

/**
 * A stand-in for an LLM, for demos and load tests: the reply is derived from the prompt
 * (same prompt, same reply), streamed at SIM_TOKENS_PER_SECOND after SIM_FIRST_TOKEN_MS,
 * and a SIM_ERROR_RATE share of requests fails as an upstream would (502).
 */
export class SimulatedProvider implements ChatProvider {
  readonly name = 'simulated' as const
  readonly healthCheck = async () => {}

  constructor(
    private readonly settings: SimulatedSettings,
    private readonly random: () => number = Math.random,
  ) {}

  resolveModel(): string {
    return SIMULATED_MODEL
  }

  async listModels(): Promise<ModelInfo[]> {
    return [{ id: SIMULATED_MODEL, object: 'model', created: CREATED, owned_by: 'chat-control-plane (simulated)' }]
  }

  async complete(request: ProviderRequest, { signal, onChunk }: CompleteOptions): Promise<Completion> {
    const { tokensPerSecond, firstTokenMs, errorRate } = this.settings
    const started = performance.now()
    if (errorRate > 0 && this.random() < errorRate) {
      await sleep(firstTokenMs, undefined, { signal })
      throw badGateway(`The simulated provider failed this request on purpose (SIM_ERROR_RATE=${errorRate})`)
    }
    const fields = request.openai?.fields ?? {}
    const n = typeof fields.n === 'number' && fields.n > 1 ? fields.n : 1
    const chunks = Array.from({ length: n }, (_, index) => simulatedChunks(request, index)).flat()
    const assembler = new ChoiceAssembler()
    const interval = 1000 / tokensPerSecond
    for (let i = 0; i < chunks.length; i++) {
      // Chunks fall due on a schedule; at high rates several are due at once and go without a timer.
      const wait = firstTokenMs + i * interval - (performance.now() - started)
      if (wait >= 1) await sleep(wait, undefined, { signal })
      signal.throwIfAborted()
      assembler.add(chunks[i]!)
      onChunk(chunks[i]!)
    }
    const choices = assembler.result()
    return {
      ...firstChoice(choices),
      model: SIMULATED_MODEL,
      usage: {
        prompt_tokens: estimatePromptTokens(request.messages),
        completion_tokens: chunks.length - n,
      },
      choices,
      chunks,
    }
  }

  /** A deterministic vector per input text: words hashed into `dimensions` (default 256) buckets, unit length. */
  async embeddings(request: EmbeddingsRequest): Promise<EmbeddingsResponse> {
    const inputs = Array.isArray(request.input) ? request.input : [request.input]
    const dimensions = typeof request.fields.dimensions === 'number' ? request.fields.dimensions : EMBEDDING_DIMENSIONS
    const base64 = request.fields.encoding_format === 'base64'
    let tokens = 0
    const data = inputs.map((input, index) => {
      const text = typeof input === 'string' ? input : JSON.stringify(input)
      tokens += estimateTokens(text)
      const vector = simulatedEmbedding(text, dimensions)
      return {
        object: 'embedding' as const,
        index,
        embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector,
      }
    })
    return { object: 'list', data, model: SIMULATED_MODEL, usage: { prompt_tokens: tokens, total_tokens: tokens } }
  }
}

const EMBEDDING_DIMENSIONS = 256

/** Bag of words into buckets (sha256 of each word), L2-normalized: same text same vector, shared words nearby vectors. */
export function simulatedEmbedding(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0)
  const words = normalizeText(text).toLowerCase().split(' ').filter(Boolean)
  for (const word of words.length ? words : ['']) {
    const hash = sha256Hex(word)
    vector[Number.parseInt(hash.slice(0, 8), 16) % dimensions]! += Number.parseInt(hash.slice(8, 9), 16) < 8 ? 1 : -1
  }
  const length = Math.hypot(...vector) || 1
  return vector.map((v) => Math.fround(v / length))
}

interface ToolSpec {
  type?: string
  function?: { name?: string; parameters?: unknown }
}

/** The chunks of choice `index`: a tool call when the last message is the user's and names a tool (or tool_choice forces one), JSON when response_format asks, text otherwise. */
function simulatedChunks(request: ProviderRequest, index: number): CompletionChunk[] {
  const fields = request.openai?.fields ?? {}
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): CompletionChunk => ({
    choices: [{ index, delta, logprobs: null, finish_reason: finish }],
  })
  const call = toolCall(request, index)
  if (call) {
    const pieces = splitTokens(call.arguments)
    return [
      chunk({
        tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
      }),
      ...pieces.map((piece) => chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] })),
      chunk({}, 'tool_calls'),
    ]
  }
  const format = fields.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined
  const reply = simulatedReply(request.messages, index)
  if (format?.type === 'json_schema' || format?.type === 'json_object') {
    const value = format.type === 'json_schema' ? schemaExample(format.json_schema?.schema ?? {}) : { reply }
    return [...splitTokens(JSON.stringify(value)).map((t) => chunk({ content: t })), chunk({}, 'stop')]
  }
  const all = splitTokens(reply)
  const max = request.params.max_tokens
  const tokens = max !== undefined && max < all.length ? all.slice(0, max) : all
  return [...tokens.map((t) => chunk({ content: t })), chunk({}, tokens.length < all.length ? 'length' : 'stop')]
}

function toolCall(request: ProviderRequest, index: number): { id: string; name: string; arguments: string } | null {
  const { fields = {}, messages = [] } = request.openai ?? {}
  const tools = (Array.isArray(fields.tools) ? fields.tools : []) as ToolSpec[]
  const choice = fields.tool_choice as string | { function?: { name?: string } } | undefined
  if (!tools.length || choice === 'none' || messages.at(-1)?.role !== 'user') return null
  const text = request.messages.at(-1)?.content ?? ''
  const forced = typeof choice === 'object' ? choice?.function?.name : undefined
  const tool =
    tools.find((t) => forced !== undefined && t.function?.name === forced) ??
    tools.find((t) => t.function?.name && text.includes(t.function.name)) ??
    (choice === 'required' ? tools[0] : undefined)
  const name = tool?.function?.name
  if (!name) return null
  const args = JSON.stringify(schemaExample(tool.function?.parameters ?? { type: 'object', properties: {} }))
  const id = `call_${sha256Hex(JSON.stringify([request.messages, name, index])).slice(0, 24)}`
  return { id, name, arguments: args }
}

/** Deterministic in the normalized conversation: whitespace-only differences give the same reply. */
export function simulatedReply(messages: ChatMessage[], variant = 0): string {
  const normalized = messages.map((m) => ({ role: m.role, content: normalizeText(m.content) }))
  const seed = sha256Hex(JSON.stringify(normalized) + (variant ? `#${variant}` : ''))
  const next = mulberry32(Number.parseInt(seed.slice(0, 8), 16))
  const lastUser = [...normalized].reverse().find((m) => m.role === 'user')?.content ?? ''
  const excerpt = lastUser.length > 60 ? `${lastUser.slice(0, 57)}...` : lastUser
  const sentences: string[] = []
  const sentenceCount = 2 + Math.floor(next() * 3)
  for (let s = 0; s < sentenceCount; s++) {
    const length = 5 + Math.floor(next() * 8)
    const words = Array.from({ length }, () => WORDS[Math.floor(next() * WORDS.length)]!)
    words[0] = words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1)
    sentences.push(`${words.join(' ')}.`)
  }
  return `Simulated reply (no language model was called) to "${excerpt}". ${sentences.join(' ')}`
}

/** A small seeded PRNG: the same seed gives the same sequence on every machine. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
