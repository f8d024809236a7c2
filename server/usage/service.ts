import type { FastifyBaseLogger } from 'fastify'
import type { Principal } from '../auth/access.js'
import { scopeOf } from '../auth/access.js'
import { AppError } from '../errors.js'
import { budgetPeriod, type BudgetEntry, type BudgetLedger, type Charge, type Reservation } from './budgets.js'
import type { Reservation as RequestReservation } from '../chat/limits/index.js'
import type { TokenUsageDto } from '../contract/usage.js'
import type { TokenBudget } from '../db/schema.js'
import type { UsageRepository, UsageTotals } from './repository.js'
import type { PriceTable } from './prices.js'
import type { UsageRollupBuffer } from './rollup-buffer.js'
import type { Metrics } from '../metrics/definitions.js'
import type { SignalSample } from '../metrics/snapshot.js'

export interface UsageOutcome {
  model: string
  /** The pool upstream that answered (none for a cached reply). */
  upstream?: string | null
  cached: boolean
  prompt_tokens: number
  completion_tokens: number
}

/** What one request holds between its reserve and its settle call. */
export interface UsageTicket {
  principal: Principal
  reservation: Reservation | null
  /** The budgets it is charged against (the token's, its project's), in the reservation's key order. */
  budgets: BudgetEntry[]
}

const hasLimit = (budget: TokenBudget | null | undefined): budget is TokenBudget =>
  Boolean(budget && (budget.tokens !== undefined || budget.cost !== undefined))

const EMPTY: UsageTotals = { requests: 0, cached: 0, prompt_tokens: 0, completion_tokens: 0, cost: null }

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
  /** Budget periods this instance has seeded from the rollup (key → period end). */
  private readonly seeded = new Map<string, number>()

  constructor(
    private readonly deps: {
      prices: PriceTable
      ledger: BudgetLedger
      buffer: UsageRollupBuffer
      repository: UsageRepository
      metrics: Metrics
      /** METRICS_PER_TOKEN: export token scopes on the budget_used_ratio gauge too. */
      metricsPerToken: boolean
      log: FastifyBaseLogger
      now?: () => Date
    },
  ) {}

  get prices(): PriceTable {
    return this.deps.prices
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date()
  }

  /**
   * Reserves the request (`estimate`: its estimated prompt and output cap) on the token's budget
   * (its own spend) and its project's (the whole project's spend) in one step, or throws 429
   * insufficient_quota naming the budget that cannot take it (and then holds nothing on either).
   */
  async reserve(
    principal: Principal,
    model: string,
    estimate: Pick<RequestReservation, 'prompt' | 'output'>,
    now = this.now(),
  ): Promise<UsageTicket> {
    const budgets: BudgetEntry[] = []
    if (hasLimit(principal.budget)) budgets.push({ subject: `token:${principal.tokenId}`, budget: principal.budget })
    if (principal.project !== null && hasLimit(principal.projectBudget))
      budgets.push({ subject: `project:${principal.project}`, budget: principal.projectBudget })
    if (budgets.length === 0) return { principal, reservation: null, budgets }
    const charge = {
      tokens: estimate.prompt + estimate.output,
      cost: this.deps.prices.cost(model, estimate.prompt, estimate.output) ?? 0,
    }
    const seeds = await Promise.all(budgets.map((b) => this.seedOf(b.subject, b.budget, now)))
    budgets.forEach((b, i) => (b.seed = seeds[i] ?? undefined))
    const { reservation, refusedBy, spent, resets } = await this.deps.ledger.reserve(budgets, charge, now)
    budgets.forEach((b, i) => {
      if (seeds[i]) this.seeded.set(this.deps.ledger.key(b.subject, b.budget.period, now), resets[i]!.getTime())
      this.noteRatio(b.subject, b.budget, spent[i]!, resets[i]!)
    })
    if (!reservation) {
      this.deps.metrics.chatRateLimitedTotal.inc({ reason: 'budget' })
      const { subject, budget } = budgets[refusedBy]!
      const whose = subject.startsWith('token:') ? 'this token' : `project ${principal.project}`
      throw insufficientQuota(
        `The budget of ${whose} for this ${budget.period} cannot take this request (it reserves ${charge.tokens} tokens); it resets at ${resets[refusedBy]!.toISOString()}`,
        resets[refusedBy]!,
        now,
      )
    }
    return { principal, reservation, budgets }
  }

  /**
   * The spend the rollup holds for a budget period this instance has not counted yet (used only
   * when the ledger does not hold the period either): a budget set mid-period, a restart without
   * Redis, a flushed Redis start from what was really spent, not from zero.
   */
  private async seedOf(
    subject: string,
    budget: TokenBudget,
    now: Date,
  ): Promise<{ tokens: number; cost: number } | null> {
    const key = this.deps.ledger.key(subject, budget.period, now)
    if (this.seeded.has(key)) return { tokens: 0, cost: 0 }
    for (const [k, end] of this.seeded) if (end <= now.getTime()) this.seeded.delete(k)
    try {
      await this.deps.buffer.flush()
      return await this.deps.repository.spendOf(subject, budgetPeriod(budget.period, now).start)
    } catch (err) {
      // The database is not answering: chat goes on, counting from what the ledger holds; retried next request.
      this.deps.log.warn({ err, subject }, 'budget: could not read the spend of the period from the rollup')
      return null
    }
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
      upstream: outcome.upstream ?? '',
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
      ticket.budgets.forEach((b, i) => this.noteRatio(b.subject, b.budget, spent[i]!, null))
    }
  }

  /** The request failed: its reservation is given back. */
  async release(ticket: UsageTicket): Promise<void> {
    if (ticket.reservation) await this.deps.ledger.settle(ticket.reservation, { tokens: 0, cost: 0 })
  }

  /**
   * Each token's usage in its budget period (the month when it has no budget): what its budget
   * counts; and its scope's combined spend then (its project's, whose own budget counts that).
   */
  async tokenUsage(
    tokens: Array<{ id: string; project: string | null; budget: TokenBudget | null }>,
    now = this.now(),
  ): Promise<Map<string, TokenUsageDto>> {
    await this.deps.buffer.flush()
    const out = new Map<string, TokenUsageDto>()
    for (const period of ['day', 'month'] as const) {
      const inPeriod = tokens.filter((t) => (t.budget?.period ?? 'month') === period)
      if (inPeriod.length === 0) continue
      const { start } = budgetPeriod(period, now)
      const scopes = inPeriod.map((t) => scopeOf({ project: t.project, tokenId: t.id }))
      const [perToken, perScope] = await Promise.all([
        this.deps.repository.perToken(
          inPeriod.map((t) => t.id),
          start,
        ),
        this.deps.repository.perScope([...new Set(scopes)], start),
      ])
      inPeriod.forEach((t, i) => {
        const own = perToken.get(t.id) ?? EMPTY
        const scope = perScope.get(scopes[i]!) ?? EMPTY
        out.set(t.id, {
          ...own,
          period,
          period_start: start.toISOString(),
          scope_tokens: scope.prompt_tokens + scope.completion_tokens,
          scope_cost: scope.cost,
        })
      })
    }
    return out
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
    const gauge = this.deps.metrics.budgetUsedRatio
    gauge.reset()
    for (const [scope, { value, periodEnd }] of this.ratios) {
      if (periodEnd <= now) {
        this.ratios.delete(scope)
        continue
      }
      out.push({ name: 'budget_used_ratio', labels: { scope }, value })
      // Token scopes are one series per token: exported only when asked for (cardinality).
      if (this.deps.metricsPerToken || !scope.startsWith('token:')) gauge.set({ scope }, value)
    }
    return out
  }

  private noteRatio(subject: string, budget: TokenBudget, spent: Charge, resetAt: Date | null): void {
    const ratios = [budget.tokens ? spent.tokens / budget.tokens : 0, budget.cost ? spent.cost / budget.cost : 0]
    const periodEnd = resetAt?.getTime() ?? this.ratios.get(subject)?.periodEnd ?? Date.now() + 86_400_000
    this.ratios.set(subject, { value: Math.max(...ratios), periodEnd })
  }
}
