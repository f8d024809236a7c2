import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { TokenBudget } from '../db/schema.js'

/** What a request is charged against a budget: tokens, and cost in USD. */
export interface Charge {
  tokens: number
  cost: number
}

export interface Reservation {
  key: string
  charge: Charge
}

// Spend of one budget period, as one hash { t: tokens, c: cost }: reserving adds the estimate
// only if it keeps both under their limits (-1 = none), in one step, so concurrent requests on
// any number of instances never pass the budget together. A period Redis does not hold yet
// starts from `seed`, the rollup's spend (a budget set mid-period, a flushed Redis).
const RESERVE = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 't', ARGV[6], 'c', ARGV[7])
end
local t = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
local c = tonumber(redis.call('HGET', KEYS[1], 'c') or '0')
local tl, cl = tonumber(ARGV[1]), tonumber(ARGV[2])
local te, ce = tonumber(ARGV[3]), tonumber(ARGV[4])
if (tl >= 0 and t + te > tl) or (cl >= 0 and c + ce > cl) then return {0, tostring(t), tostring(c)} end
redis.call('HINCRBY', KEYS[1], 't', te)
redis.call('HINCRBYFLOAT', KEYS[1], 'c', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, tostring(t + te), tostring(c + ce)}
`
const SETTLE = `
local t = redis.call('HINCRBY', KEYS[1], 't', ARGV[1])
local c = redis.call('HINCRBYFLOAT', KEYS[1], 'c', ARGV[2])
return {tostring(t), tostring(c)}
`

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

  constructor(
    private readonly redis: Redis | null,
    private readonly prefix: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  key(scope: string, period: TokenBudget['period'], now: Date): string {
    return `${this.prefix}budget:${scope}:${period}:${budgetPeriod(period, now).start.toISOString().slice(0, 10)}`
  }

  /**
   * Reserves `estimate` unless that would pass `budget`; answers the spend (reservations
   * included) either way. `seed` is where a period not yet counted starts.
   */
  async reserve(
    scope: string,
    budget: TokenBudget,
    estimate: Charge,
    now: Date,
    seed: Charge = { tokens: 0, cost: 0 },
  ): Promise<{ reservation: Reservation | null; spent: Charge; resetAt: Date }> {
    const key = this.key(scope, budget.period, now)
    const { end } = budgetPeriod(budget.period, now)
    const ttlMs = end.getTime() - now.getTime() + 86_400_000
    const tl = budget.tokens ?? -1
    const cl = budget.cost ?? -1
    if (this.redis) {
      try {
        const [ok, t, c] = (await this.redis.eval(
          RESERVE,
          1,
          key,
          String(tl),
          String(cl),
          String(estimate.tokens),
          String(estimate.cost),
          String(ttlMs),
          String(seed.tokens),
          String(seed.cost),
        )) as [number, string, string]
        return { reservation: ok === 1 ? { key, charge: estimate } : null, spent: charge(t, c), resetAt: end }
      } catch (err) {
        this.log.warn({ err }, 'budget: Redis failed; reserving in this instance only')
      }
    }
    const entry = this.entry(key, now.getTime() + ttlMs, now.getTime(), seed)
    const { t, c } = { t: entry.spent.tokens, c: entry.spent.cost }
    if ((tl >= 0 && t + estimate.tokens > tl) || (cl >= 0 && c + estimate.cost > cl))
      return { reservation: null, spent: { ...entry.spent }, resetAt: end }
    entry.spent.tokens += estimate.tokens
    entry.spent.cost += estimate.cost
    return { reservation: { key, charge: estimate }, spent: { ...entry.spent }, resetAt: end }
  }

  /** Replaces the reservation by what the request really spent (nothing, when it failed). */
  async settle(reservation: Reservation, actual: Charge): Promise<Charge> {
    const dt = actual.tokens - reservation.charge.tokens
    const dc = actual.cost - reservation.charge.cost
    if (this.redis) {
      try {
        const [t, c] = (await this.redis.eval(SETTLE, 1, reservation.key, String(dt), String(dc))) as [string, string]
        return charge(t, c)
      } catch (err) {
        this.log.warn({ err }, 'budget: Redis failed; settling in this instance only')
      }
    }
    const entry = this.entry(reservation.key, Date.now() + 32 * 86_400_000, null, { tokens: 0, cost: 0 })
    entry.spent.tokens += dt
    entry.spent.cost += dc
    return { ...entry.spent }
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
