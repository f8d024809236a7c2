import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { TokenBudget } from '../db/schema.js'
import { luaScript, ScriptRunner } from '../infra/redis/scripts.js'

/** What a request is charged against a budget: tokens, and cost in USD. */
export interface Charge {
  tokens: number
  cost: number
}

/** What a request holds on one or more budgets (the token's, its project's) until it settles. */
export interface Reservation {
  keys: string[]
  charge: Charge
}

/** One budget a request is charged against: whose spend it counts (`token:<id>`, `project:<name>`). */
export interface BudgetEntry {
  subject: string
  budget: TokenBudget
  /** Where a period the ledger does not hold yet starts (the rollup's spend). */
  seed?: Charge
}

// Spend of one budget period, as one hash { t: tokens, c: cost } per budget: reserving adds the
// estimate to every budget only if it keeps each under its limits (-1 = none), in one step, so
// concurrent requests on any number of instances never pass a budget together, and a request
// refused by one budget (the project's) holds nothing on another (the token's). A period Redis
// does not hold yet starts from its seed, the rollup's spend (a budget set mid-period, a
// flushed Redis). ARGV: tokens, cost, ttl ms, then per key: token limit, cost limit, seed t, seed c.
const RESERVE = `
local te, ce, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local refused = 0
local out = {}
for i = 1, #KEYS do
  local a = 4 * i
  if redis.call('EXISTS', KEYS[i]) == 0 then
    redis.call('HSET', KEYS[i], 't', ARGV[a + 2], 'c', ARGV[a + 3])
  end
  local t = tonumber(redis.call('HGET', KEYS[i], 't') or '0')
  local c = tonumber(redis.call('HGET', KEYS[i], 'c') or '0')
  local tl, cl = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  if refused == 0 and ((tl >= 0 and t + te > tl) or (cl >= 0 and c + ce > cl)) then refused = i end
  out[2 * i] = t
  out[2 * i + 1] = c
end
out[1] = refused
for i = 1, #KEYS do
  if refused == 0 then
    redis.call('HINCRBY', KEYS[i], 't', te)
    redis.call('HINCRBYFLOAT', KEYS[i], 'c', ARGV[2])
    redis.call('PEXPIRE', KEYS[i], ttl)
    out[2 * i] = out[2 * i] + te
    out[2 * i + 1] = out[2 * i + 1] + ce
  end
  out[2 * i] = tostring(out[2 * i])
  out[2 * i + 1] = tostring(out[2 * i + 1])
end
return out
`
const SETTLE = `
local out = {}
for i = 1, #KEYS do
  out[2 * i - 1] = tostring(redis.call('HINCRBY', KEYS[i], 't', ARGV[1]))
  out[2 * i] = tostring(redis.call('HINCRBYFLOAT', KEYS[i], 'c', ARGV[2]))
end
return out
`
const RESERVE_SCRIPT = luaScript(RESERVE)
const SETTLE_SCRIPT = luaScript(SETTLE)

/** The UTC period containing `now`: its start and end. */
export function budgetPeriod(period: TokenBudget['period'], now: Date): { start: Date; end: Date } {
  const y = now.getUTCFullYear()
  const m = now.getUTCMonth()
  if (period === 'month') return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) }
  const d = now.getUTCDate()
  return { start: new Date(Date.UTC(y, m, d)), end: new Date(Date.UTC(y, m, d + 1)) }
}

/**
 * Budget spend per scope and period: in Redis when there is one (exact across instances: an
 * atomic Lua script reserves), else in this instance's memory. A Redis error falls back to
 * memory for that call (logged), so chat keeps answering.
 */
export class BudgetLedger {
  private readonly memory = new Map<string, { spent: Charge; expiresAt: number }>()
  private readonly scripts: ScriptRunner | null

  constructor(
    private readonly redis: Redis | null,
    private readonly prefix: string,
    private readonly log: FastifyBaseLogger,
  ) {
    this.scripts = redis ? new ScriptRunner(redis) : null
  }

  /** The ledger key of `subject`'s budget period containing `now`. */
  key(scope: string, period: TokenBudget['period'], now: Date): string {
    return `${this.prefix}budget:${scope}:${period}:${budgetPeriod(period, now).start.toISOString().slice(0, 10)}`
  }

  /**
   * Reserves `estimate` on every budget of `entries`, unless that would pass one of them (the
   * first such is `refusedBy`, and nothing is reserved); answers each budget's spend
   * (reservations included) either way.
   */
  async reserve(
    entries: BudgetEntry[],
    estimate: Charge,
    now: Date,
  ): Promise<{ reservation: Reservation | null; refusedBy: number; spent: Charge[]; resets: Date[] }> {
    const keys = entries.map((e) => this.key(e.subject, e.budget.period, now))
    const resets = entries.map((e) => budgetPeriod(e.budget.period, now).end)
    const ttlMs = Math.max(...resets.map((end) => end.getTime())) - now.getTime() + 86_400_000
    const seeds = entries.map((e) => e.seed ?? { tokens: 0, cost: 0 })
    if (this.redis) {
      try {
        const [refused, ...levels] = (await this.scripts!.run(RESERVE_SCRIPT, keys, [
          String(estimate.tokens),
          String(estimate.cost),
          String(ttlMs),
          ...entries.flatMap((e, i) => [
            String(e.budget.tokens ?? -1),
            String(e.budget.cost ?? -1),
            String(seeds[i]!.tokens),
            String(seeds[i]!.cost),
          ]),
        ])) as [number, ...string[]]
        const spent = keys.map((_, i) => charge(levels[2 * i]!, levels[2 * i + 1]!))
        return { reservation: refused === 0 ? { keys, charge: estimate } : null, refusedBy: refused - 1, spent, resets }
      } catch (err) {
        this.log.warn({ err }, 'budget: Redis failed; reserving in this instance only')
      }
    }
    const held = keys.map((key, i) => this.entry(key, now.getTime() + ttlMs, now.getTime(), seeds[i]!).spent)
    const refusedBy = entries.findIndex(({ budget }, i) => {
      const { tokens, cost } = held[i]!
      return (
        (budget.tokens !== undefined && tokens + estimate.tokens > budget.tokens) ||
        (budget.cost !== undefined && cost + estimate.cost > budget.cost)
      )
    })
    if (refusedBy < 0)
      for (const spent of held) {
        spent.tokens += estimate.tokens
        spent.cost += estimate.cost
      }
    return {
      reservation: refusedBy < 0 ? { keys, charge: estimate } : null,
      refusedBy,
      spent: held.map((s) => ({ ...s })),
      resets,
    }
  }

  /** Replaces the reservation by what the request really spent (nothing, when it failed); answers each budget's spend. */
  async settle(reservation: Reservation, actual: Charge): Promise<Charge[]> {
    const dt = actual.tokens - reservation.charge.tokens
    const dc = actual.cost - reservation.charge.cost
    const { keys } = reservation
    if (this.redis) {
      try {
        const levels = (await this.scripts!.run(SETTLE_SCRIPT, keys, [String(dt), String(dc)])) as string[]
        return keys.map((_, i) => charge(levels[2 * i]!, levels[2 * i + 1]!))
      } catch (err) {
        this.log.warn({ err }, 'budget: Redis failed; settling in this instance only')
      }
    }
    return keys.map((key) => {
      const entry = this.entry(key, Date.now() + 32 * 86_400_000, null, { tokens: 0, cost: 0 })
      entry.spent.tokens += dt
      entry.spent.cost += dc
      return { ...entry.spent }
    })
  }

  /** The spend of `key` (created with `expiresAt`); periods over by `now` are forgotten first. */
  private entry(key: string, expiresAt: number, now: number | null, seed: Charge) {
    if (now !== null) for (const [k, v] of this.memory) if (v.expiresAt < now) this.memory.delete(k)
    let entry = this.memory.get(key)
    if (!entry) this.memory.set(key, (entry = { spent: { ...seed }, expiresAt }))
    return entry
  }
}

function charge(t: string, c: string): Charge {
  return { tokens: Number(t), cost: Number(c) }
}
