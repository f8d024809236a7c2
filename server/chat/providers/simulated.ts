import { setTimeout as sleep } from 'node:timers/promises'
import { sha256Hex } from '../../cache/keys.js'
import { normalizeText } from '../identity.js'
import { badGateway } from '../../errors.js'
import { estimatePromptTokens, splitTokens } from '../tokens.js'
import type { ChatMessage, ChatProvider, Completion, CompleteOptions, ModelInfo, ProviderRequest } from './types.js'

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

  async complete(request: ProviderRequest, { signal, onToken }: CompleteOptions): Promise<Completion> {
    const { tokensPerSecond, firstTokenMs, errorRate } = this.settings
    const started = performance.now()
    if (errorRate > 0 && this.random() < errorRate) {
      await sleep(firstTokenMs, undefined, { signal })
      throw badGateway(`The simulated provider failed this request on purpose (SIM_ERROR_RATE=${errorRate})`)
    }
    const all = splitTokens(simulatedReply(request.messages))
    const max = request.params.max_tokens
    const tokens = max !== undefined && max < all.length ? all.slice(0, max) : all
    const interval = 1000 / tokensPerSecond
    for (let i = 0; i < tokens.length; i++) {
      // Tokens fall due on a schedule; at high rates several are due at once and go without a timer.
      const wait = firstTokenMs + i * interval - (performance.now() - started)
      if (wait >= 1) await sleep(wait, undefined, { signal })
      signal.throwIfAborted()
      onToken(tokens[i]!)
    }
    return {
      content: tokens.join(''),
      finish_reason: tokens.length < all.length ? 'length' : 'stop',
      model: SIMULATED_MODEL,
      usage: { prompt_tokens: estimatePromptTokens(request.messages), completion_tokens: tokens.length },
    }
  }
}

/** Deterministic in the normalized conversation: whitespace-only differences give the same reply. */
export function simulatedReply(messages: ChatMessage[]): string {
  const normalized = messages.map((m) => ({ role: m.role, content: normalizeText(m.content) }))
  const seed = sha256Hex(JSON.stringify(normalized))
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
