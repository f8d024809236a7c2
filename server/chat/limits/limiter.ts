import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { Principal } from '../../auth/access.js'
import { AppError, badRequest } from '../../errors.js'
import type { Metrics } from '../../metrics/definitions.js'
import type { ChatMessage } from '../providers/types.js'
import {
  MemoryLimitStore,
  type AcquireOutcome,
  type LimitStore,
  type LimitSubject,
  type LimitValues,
} from './buckets.js'
import { RedisLimitStore } from './redis-store.js'

/** A concurrency slot whose request never released it (its instance died) is free again after this. */
const LEASE_MS = 10 * 60_000

export interface ChatLimitsOptions {
  redis: Redis | null
  /** Redis keys start with this (CACHE_PREFIX). */
  keyPrefix: string
  /** CHAT_DEFAULT_*: what a token that sets no limit of its own gets. */
  defaults: LimitValues
  /** CHAT_MAX_OUTPUT_TOKENS: reserved when a request names no max_tokens. */
  maxOutputTokens: number
  metrics: Metrics
  log: FastifyBaseLogger
}

/** What a request reserved; `settle` once it is done (idempotent). */
export interface Admission {
  /** OpenAI's x-ratelimit-* headers for the response. */
  readonly headers: Record<string, string>
  /** Gives back what the reservation held beyond `usedTokens` (null: the request failed, nothing used) and frees the slot. */
  settle(usedTokens: number | null): void
}

const ADMITTED_UNLIMITED: Admission = { headers: {}, settle() {} }

/**
 * Requests, tokens a minute and requests in flight per chat token (README, "Limits"): one
 * `admit` before the model call, one `settle` after. Exact across instances through Redis; in
 * this instance's memory without Redis, and whenever Redis does not answer (counted in
 * chat_limit_fallback_total), so chat keeps working while Redis is down.
 */
export class ChatLimits {
  private readonly memory = new MemoryLimitStore()
  private readonly shared: RedisLimitStore | null

  constructor(private readonly options: ChatLimitsOptions) {
    this.shared = options.redis ? new RedisLimitStore(options.redis) : null
  }

  /** The token's own limits, CHAT_DEFAULT_* for those it does not set. */
  limitsOf(principal: Pick<Principal, 'limits'>): LimitValues {
    const { defaults } = this.options
    return {
      rpm: principal.limits.rpm ?? defaults.rpm,
      tpm: principal.limits.tpm ?? defaults.tpm,
      concurrency: principal.limits.concurrency ?? defaults.concurrency,
    }
  }

  /** What a request reserves (tpm and budgets): its estimated prompt, and its output cap. */
  reservation(messages: ChatMessage[], maxTokens: number | undefined): Reservation {
    return requestReservation(messages, maxTokens, this.options.maxOutputTokens)
  }

  /**
   * Counts the request and reserves its tokens (estimated prompt + `maxTokens`, or
   * CHAT_MAX_OUTPUT_TOKENS) against the token's limits and its project's, both in one atomic
   * step, or throws the 429 with OpenAI's headers; a `maxTokens` above CHAT_MAX_OUTPUT_TOKENS
   * is a 400.
   */
  async admit(
    principal: Pick<Principal, 'limits' | 'tokenId' | 'project' | 'projectLimits'> | null,
    request: { messages: ChatMessage[]; maxTokens?: number; maxTokensField?: string },
  ): Promise<Admission> {
    const { maxOutputTokens, keyPrefix } = this.options
    if (request.maxTokens !== undefined && request.maxTokens > maxOutputTokens) {
      const field = request.maxTokensField ?? 'max_tokens'
      throw badRequest(
        `${field} must be at most ${maxOutputTokens} (CHAT_MAX_OUTPUT_TOKENS)`,
        'validation_error',
        field,
      )
    }
    if (!principal) return ADMITTED_UNLIMITED
    const subjects: Subject[] = []
    const own = this.limitsOf(principal)
    if (limited(own))
      subjects.push({ key: `${keyPrefix}chat-limits:{token:${principal.tokenId}}`, limits: own, of: 'token' })
    if (principal.project !== null && principal.projectLimits && limited(principal.projectLimits))
      subjects.push({
        key: `${keyPrefix}chat-limits:{project:${principal.project}}`,
        limits: principal.projectLimits,
        of: 'project',
      })
    if (subjects.length === 0) return ADMITTED_UNLIMITED
    const reserved = subjects.some((s) => s.limits.tpm)
      ? this.reservation(request.messages, request.maxTokens).total
      : 0
    const leaseId = randomUUID()
    const acquireRequest = { subjects, tokens: reserved, leaseId, leaseMs: LEASE_MS }
    let store: LimitStore = this.memory
    let outcome: AcquireOutcome | undefined
    if (this.shared?.ready) {
      try {
        outcome = await this.shared.acquire(acquireRequest)
        store = this.shared
      } catch (err) {
        this.options.log.warn({ err }, 'redis did not answer a chat limit check: counting in this instance only')
      }
    }
    if (!outcome) {
      if (this.shared) this.options.metrics.chatLimitFallbackTotal.inc()
      outcome = await this.memory.acquire(acquireRequest)
    }
    const headers = rateLimitHeaders(subjects, outcome)
    if (outcome.refused) {
      this.options.metrics.chatRateLimitedTotal.inc({ reason: outcome.refused })
      const retrySeconds = Math.max(1, Math.ceil(outcome.retryMs / 1000))
      const by = subjects[outcome.refusedBy]!
      throw new AppError(
        429,
        'rate_limit_exceeded',
        refusalMessage(outcome.refused, by, reserved, outcome.retryMs),
        { ...headers, 'retry-after': String(retrySeconds) },
        { type: outcome.refused === 'tpm' ? 'tokens' : 'requests' },
      )
    }
    let settled = false
    const log = this.options.log
    const tpm = subjects.some((s) => s.limits.tpm)
    const concurrency = subjects.some((s) => s.limits.concurrency)
    return {
      headers,
      settle(usedTokens) {
        if (settled) return
        settled = true
        const refund = tpm ? reserved - (usedTokens ?? 0) : 0
        if (!concurrency && refund === 0) return
        store.settle(subjects, refund, leaseId).catch((err: unknown) => {
          // Redis went away since the check: its keys expire on their own (the slot after LEASE_MS).
          log.warn({ err }, 'could not settle a chat limit reservation')
        })
      },
    }
  }
}

interface Subject extends LimitSubject {
  of: 'token' | 'project'
}

const limited = (limits: LimitValues) => Boolean(limits.rpm || limits.tpm || limits.concurrency)

/** What a request reserves before the model call (tpm, budgets): the estimated prompt plus the output cap. */
export interface Reservation {
  prompt: number
  output: number
  total: number
}

/** The reservation of a request: estimated prompt tokens + `maxTokens`, or `outputCap` (CHAT_MAX_OUTPUT_TOKENS) when it names none. */
export function requestReservation(
  messages: ChatMessage[],
  maxTokens: number | undefined,
  outputCap: number,
): Reservation {
  const prompt = estimatePromptTokens(messages)
  const output = maxTokens ?? outputCap
  return { prompt, output, total: prompt + output }
}

/** About 4 characters a token, and a few tokens of framing per message: close to OpenAI's tokenizers for English text. */
export function estimatePromptTokens(messages: ChatMessage[]): number {
  let chars = 0
  for (const m of messages) chars += m.content.length
  return Math.ceil(chars / 4) + 4 * messages.length + 3
}

/** OpenAI's headers, per kind from the subject (token or project) with the least left of it. */
function rateLimitHeaders(subjects: LimitSubject[], outcome: AcquireOutcome): Record<string, string> {
  const headers: Record<string, string> = {}
  const tightest = (field: 'rpm' | 'tpm', level: 'requestLevel' | 'tokenLevel') => {
    let best: { limit: number; level: number } | null = null
    subjects.forEach(({ limits }, i) => {
      const limit = limits[field]
      const left = outcome.levels[i]![level]
      if (limit && (!best || left < best.level)) best = { limit, level: left }
    })
    return best as { limit: number; level: number } | null
  }
  const requests = tightest('rpm', 'requestLevel')
  if (requests) {
    headers['x-ratelimit-limit-requests'] = String(requests.limit)
    headers['x-ratelimit-remaining-requests'] = String(Math.max(0, Math.floor(requests.level)))
    headers['x-ratelimit-reset-requests'] = resetDuration(((requests.limit - requests.level) * 60_000) / requests.limit)
  }
  const tokens = tightest('tpm', 'tokenLevel')
  if (tokens) {
    headers['x-ratelimit-limit-tokens'] = String(tokens.limit)
    headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, Math.floor(tokens.level)))
    headers['x-ratelimit-reset-tokens'] = resetDuration(((tokens.limit - tokens.level) * 60_000) / tokens.limit)
  }
  return headers
}

/** OpenAI's duration format for the reset headers: "20ms", "1s", "8.64s", "6m0s". */
export function resetDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms))
  if (whole < 1000) return `${whole}ms`
  const minutes = Math.floor(whole / 60_000)
  const seconds = `${Number(((whole % 60_000) / 1000).toFixed(3))}s`
  return minutes ? `${minutes}m${seconds}` : seconds
}

function refusalMessage(reason: 'rpm' | 'tpm' | 'concurrency', by: Subject, tokens: number, retryMs: number) {
  const retry = `Please try again in ${resetDuration(retryMs)}.`
  const { limits } = by
  const on = by.of === 'token' ? 'this token' : 'its project'
  if (reason === 'rpm') return `Rate limit reached for requests per min (RPM) on ${on}: Limit ${limits.rpm}. ${retry}`
  if (reason === 'concurrency')
    return `Rate limit reached for requests in flight on ${on}: Limit ${limits.concurrency}. ${retry}`
  if (tokens > limits.tpm!)
    return `Request too large for tokens per min (TPM) on ${on}: Limit ${limits.tpm}, Requested ${tokens}. Lower max_tokens or the prompt.`
  return `Rate limit reached for tokens per min (TPM) on ${on}: Limit ${limits.tpm}, Requested ${tokens}. ${retry}`
}
