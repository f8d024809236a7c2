import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { AcquireOutcome, AcquireRequest, LimitReason, LimitStore, LimitValues } from './buckets.js'

// The buckets of MemoryLimitStore, in Redis. The clock is Redis's own (TIME), so instances
// whose clocks differ still agree. A bucket's key expires once it would be full again.
const LEVEL = `
local function level(key, cap, now)
  local v = redis.call('HMGET', key, 'l', 't')
  if not v[1] then return cap end
  local l = tonumber(v[1]) + (now - tonumber(v[2])) * cap / 60000
  if l > cap then l = cap end
  return l
end
local function store(key, cap, l, now)
  redis.call('HSET', key, 'l', tostring(l), 't', now)
  redis.call('PEXPIRE', key, math.ceil((cap - l) * 60000 / cap) + 1000)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

/** KEYS: rpm bucket, tpm bucket, lease set. ARGV: rpm, tpm, concurrency (0: none), tokens, lease id, lease ms. */
const ACQUIRE = `${LEVEL}
local rpm, tpm, conc = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cost, lease, leaseMs = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local reason, retry, rl, tl = '', 0, -1, -1
if rpm > 0 then
  rl = level(KEYS[1], rpm, now)
  if rl < 1 then reason = 'rpm'; retry = math.ceil((1 - rl) * 60000 / rpm) end
end
if tpm > 0 then
  tl = level(KEYS[2], tpm, now)
  if tl < cost then
    if reason == '' then reason = 'tpm' end
    local r = 60000
    if cost <= tpm then r = math.ceil((cost - tl) * 60000 / tpm) end
    if r > retry then retry = r end
  end
end
if conc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= conc then
    if reason == '' then reason = 'concurrency' end
    if retry < 1000 then retry = 1000 end
  end
end
if reason == '' then
  if rpm > 0 then rl = rl - 1; store(KEYS[1], rpm, rl, now) end
  if tpm > 0 then tl = tl - cost; store(KEYS[2], tpm, tl, now) end
  if conc > 0 then
    redis.call('ZADD', KEYS[3], now + leaseMs, lease)
    redis.call('PEXPIRE', KEYS[3], leaseMs)
  end
end
return { reason, tostring(rl), tostring(tl), retry }
`

/** KEYS: tpm bucket, lease set. ARGV: tpm (0: none), refund, lease id. */
const SETTLE = `${LEVEL}
local tpm, refund = tonumber(ARGV[1]), tonumber(ARGV[2])
if tpm > 0 and refund ~= 0 then
  local l = level(KEYS[1], tpm, now) + refund
  if l > tpm then l = tpm end
  store(KEYS[1], tpm, l, now)
end
redis.call('ZREM', KEYS[2], ARGV[3])
return 1
`

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex')
const SCRIPTS = { acquire: { lua: ACQUIRE, sha: sha1(ACQUIRE) }, settle: { lua: SETTLE, sha: sha1(SETTLE) } }

/** Limits shared by every instance on one Redis: each check-and-reserve is one Lua script. */
export class RedisLimitStore implements LimitStore {
  /** Scripts this instance has sent whole once (Redis keeps them then); later calls send their SHA only. */
  private readonly sent = new Set<string>()

  constructor(private readonly redis: Redis) {}

  /** Whether a command can be sent now (the client sends nothing while it reconnects). */
  get ready(): boolean {
    return this.redis.status === 'ready'
  }

  async acquire(request: AcquireRequest): Promise<AcquireOutcome> {
    const { key, limits } = request
    const [reason, requestLevel, tokenLevel, retryMs] = (await this.run(
      SCRIPTS.acquire,
      [`${key}:rpm`, `${key}:tpm`, `${key}:inflight`],
      [limits.rpm ?? 0, limits.tpm ?? 0, limits.concurrency ?? 0, request.tokens, request.leaseId, request.leaseMs],
    )) as [string, string, string, number]
    return {
      refused: reason === '' ? null : (reason as LimitReason),
      requestLevel: Number(requestLevel),
      tokenLevel: Number(tokenLevel),
      retryMs: Number(retryMs),
    }
  }

  async settle(key: string, limits: LimitValues, refund: number, leaseId: string): Promise<void> {
    await this.run(SCRIPTS.settle, [`${key}:tpm`, `${key}:inflight`], [limits.tpm ?? 0, refund, leaseId])
  }

  /**
   * EVAL the first time (a NOSCRIPT round trip there would let a later command overtake it: a
   * settlement must reach Redis before the next check of the same caller), EVALSHA after;
   * EVAL again should Redis have lost its scripts (a restart).
   */
  private async run(script: { lua: string; sha: string }, keys: string[], args: Array<string | number>) {
    if (!this.sent.has(script.sha)) {
      this.sent.add(script.sha)
      return this.redis.eval(script.lua, keys.length, ...keys, ...args)
    }
    try {
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args)
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err
      return this.redis.eval(script.lua, keys.length, ...keys, ...args)
    }
  }
}
