import type { Principal } from '../auth/access.js'
import { scopeOf } from '../auth/access.js'
import { AppError } from '../errors.js'
import type { BudgetLedger, Reservation } from './budgets.js'
import type { PriceTable } from './prices.js'
import type { UsageRollupBuffer } from './rollup-buffer.js'
import type { SignalSample } from '../metrics/snapshot.js'

/**
 * The output reservation of a request that names no max_tokens (the CHAT_MAX_OUTPUT_TOKENS
 * default; the limits work makes it configurable).
 */
export const DEFAULT_OUTPUT_RESERVATION = 4_096

export interface UsageOutcome {
  model: string
  cached: boolean
  prompt_tokens: number
  completion_tokens: number
}

/** What one request holds between its reserve and its settle call. */
export interface UsageTicket {
  principal: Principal
  reservation: Reservation | null
}

export const insufficientQuota = (message: string, resetAt: Date, now: Date) =>
  new AppError(429, 'insufficient_quota', message, {
    'retry-after': String(Math.max(1, Math.ceil((resetAt.getTime() - now.getTime()) / 1000))),
  })

/**
 * Usage accounting and budgets of chat completions: `reserve` before the model call (refuses
 * with 429 insufficient_quota when the budget cannot take the request), `settle` after it
 * (real usage to the budget and to the hourly rollup), `release` when it failed.
 */
export class UsageService {
  /** Budget use ratio per scope this instance has seen (the budget_used_ratio signal). */
  private readonly ratios = new Map<string, { value: number; periodEnd: number }>()

  constructor(
    private readonly deps: {
      prices: PriceTable
      ledger: BudgetLedger
      buffer: UsageRollupBuffer
      now?: () => Date
    },
  ) {}

  get prices(): PriceTable {
    return this.deps.prices
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date()
  }

  async reserve(
    principal: Principal,
    model: string,
    promptTokens: number,
    maxOutputTokens: number | undefined,
    now = this.now(),
  ): Promise<UsageTicket> {
    const budget = principal.budget
    if (!budget || (budget.tokens === undefined && budget.cost === undefined)) return { principal, reservation: null }
    const output = maxOutputTokens ?? DEFAULT_OUTPUT_RESERVATION
    const estimate = {
      tokens: promptTokens + output,
      cost: this.deps.prices.cost(model, promptTokens, output) ?? 0,
    }
    const scope = scopeOf(principal)
    const { reservation, spent, resetAt } = await this.deps.ledger.reserve(scope, budget, estimate, now)
    this.noteRatio(scope, principal, spent, resetAt)
    if (!reservation)
      throw insufficientQuota(
        `The budget of ${scope} for this ${budget.period} cannot take this request (it reserves ${estimate.tokens} tokens); it resets at ${resetAt.toISOString()}`,
        resetAt,
        now,
      )
    return { principal, reservation }
  }

  /** Real usage: to the budget (replacing the reservation) and to the rollup. */
  async settle(ticket: UsageTicket, outcome: UsageOutcome, now = this.now()): Promise<void> {
    const cost = outcome.cached
      ? this.deps.prices.price(outcome.model)
        ? 0
        : null
      : this.deps.prices.cost(outcome.model, outcome.prompt_tokens, outcome.completion_tokens)
    const { principal } = ticket
    const hour = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000)
    this.deps.buffer.add({
      scope: scopeOf(principal),
      token_id: principal.tokenId,
      project: principal.project,
      model: outcome.model,
      hour,
      requests: 1,
      cached_requests: outcome.cached ? 1 : 0,
      prompt_tokens: outcome.prompt_tokens,
      completion_tokens: outcome.completion_tokens,
      cost,
    })
    if (ticket.reservation) {
      const spent = await this.deps.ledger.settle(ticket.reservation, {
        tokens: outcome.prompt_tokens + outcome.completion_tokens,
        cost: cost ?? 0,
      })
      const budget = principal.budget
      if (budget) this.noteRatio(scopeOf(principal), principal, spent, null)
    }
  }

  /** The request failed: its reservation is given back. */
  async release(ticket: UsageTicket): Promise<void> {
    if (ticket.reservation) await this.deps.ledger.settle(ticket.reservation, { tokens: 0, cost: 0 })
  }

  flush(): Promise<void> {
    return this.deps.buffer.flush()
  }

  close(): Promise<void> {
    return this.deps.buffer.close()
  }

  /** budget_used_ratio{scope}: spend (reservations included) over the budget, the larger of tokens and cost. */
  signals(now: number): SignalSample[] {
    const out: SignalSample[] = []
    for (const [scope, { value, periodEnd }] of this.ratios) {
      if (periodEnd <= now) this.ratios.delete(scope)
      else out.push({ name: 'budget_used_ratio', labels: { scope }, value })
    }
    return out
  }

  private noteRatio(
    scope: string,
    principal: Principal,
    spent: { tokens: number; cost: number },
    resetAt: Date | null,
  ): void {
    const budget = principal.budget
    if (!budget) return
    const ratios = [budget.tokens ? spent.tokens / budget.tokens : 0, budget.cost ? spent.cost / budget.cost : 0]
    const periodEnd = resetAt?.getTime() ?? this.ratios.get(scope)?.periodEnd ?? Date.now() + 86_400_000
    this.ratios.set(scope, { value: Math.max(...ratios), periodEnd })
  }
}
