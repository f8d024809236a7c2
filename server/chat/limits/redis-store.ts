import type { Redis } from 'ioredis'
import { luaScript, ScriptRunner } from '../../infra/redis/scripts.js'
import type { AcquireOutcome, AcquireRequest, LimitReason, LimitStore, LimitSubject } from './buckets.js'

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

/**
 * Subject i (1-based) has KEYS[3i-2..3i]: rpm bucket, tpm bucket, lease set, and ARGV[3i+1..3i+3]:
 * rpm, tpm, concurrency (0: none). ARGV[1..3]: tokens, lease id, lease ms. Every subject is
 * checked before any is changed: a refusal by one takes nothing from the others.
 */
const ACQUIRE = `${LEVEL}
local cost, lease, leaseMs = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local n = #KEYS / 3
local reason, by, retry = '', -1, 0
local levels = {}
for i = 1, n do
  local k, a = 3 * i - 2, 3 * i + 1
  local rpm, tpm, conc = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local rl, tl = -1, -1
  if rpm > 0 then
    rl = level(KEYS[k], rpm, now)
    if rl < 1 then
      if reason == '' then reason = 'rpm'; by = i - 1 end
      local r = math.ceil((1 - rl) * 60000 / rpm)
      if r > retry then retry = r end
    end
  end
  if tpm > 0 then
    tl = level(KEYS[k + 1], tpm, now)
    if tl < cost then
      if reason == '' then reason = 'tpm'; by = i - 1 end
      local r = 60000
      if cost <= tpm then r = math.ceil((cost - tl) * 60000 / tpm) end
      if r > retry then retry = r end
    end
  end
  if conc > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 2], '-inf', now)
    if redis.call('ZCARD', KEYS[k + 2]) >= conc then
      if reason == '' then reason = 'concurrency'; by = i - 1 end
      if retry < 1000 then retry = 1000 end
    end
  end
  levels[i] = { rl, tl, rpm, tpm, conc }
end
local out = { reason, by, retry }
for i = 1, n do
  local k, v = 3 * i - 2, levels[i]
  if reason == '' then
    if v[3] > 0 then v[1] = v[1] - 1; store(KEYS[k], v[3], v[1], now) end
    if v[4] > 0 then v[2] = v[2] - cost; store(KEYS[k + 1], v[4], v[2], now) end
    if v[5] > 0 then
      redis.call('ZADD', KEYS[k + 2], now + leaseMs, lease)
      redis.call('PEXPIRE', KEYS[k + 2], leaseMs)
    end
  end
  out[#out + 1] = tostring(v[1])
  out[#out + 1] = tostring(v[2])
end
return out
`

/** Subject i has KEYS[2i-1..2i]: tpm bucket, lease set, and ARGV[i+2]: tpm (0: none). ARGV[1..2]: refund, lease id. */
const SETTLE = `${LEVEL}
local refund = tonumber(ARGV[1])
for i = 1, #KEYS / 2 do
  local tpm = tonumber(ARGV[i + 2])
  if tpm > 0 and refund ~= 0 then
    local l = level(KEYS[2 * i - 1], tpm, now) + refund
    if l > tpm then l = tpm end
    store(KEYS[2 * i - 1], tpm, l, now)
  end
  redis.call('ZREM', KEYS[2 * i], ARGV[2])
end
return 1
`

const SCRIPTS = { acquire: luaScript(ACQUIRE), settle: luaScript(SETTLE) }

/**
 * Limits shared by every instance on one Redis: each check-and-reserve is one Lua script, over
 * the token's keys and its project's together (a standalone Redis; in a cluster the two hash
 * tags would have to share a slot).
 */
export class RedisLimitStore implements LimitStore {
  private readonly scripts: ScriptRunner

  constructor(private readonly redis: Redis) {
    this.scripts = new ScriptRunner(redis)
  }

  /** Whether a command can be sent now (the client sends nothing while it reconnects). */
  get ready(): boolean {
    return this.redis.status === 'ready'
  }

  async acquire(request: AcquireRequest): Promise<AcquireOutcome> {
    const { subjects } = request
    const [reason, refusedBy, retryMs, ...levels] = (await this.scripts.run(
      SCRIPTS.acquire,
      subjects.flatMap(({ key }) => [`${key}:rpm`, `${key}:tpm`, `${key}:inflight`]),
      [
        request.tokens,
        request.leaseId,
        request.leaseMs,
        ...subjects.flatMap(({ limits }) => [limits.rpm ?? 0, limits.tpm ?? 0, limits.concurrency ?? 0]),
      ],
    )) as [string, number, number, ...string[]]
    return {
      refused: reason === '' ? null : (reason as LimitReason),
      refusedBy: Number(refusedBy),
      levels: subjects.map((_, i) => ({ requestLevel: Number(levels[2 * i]), tokenLevel: Number(levels[2 * i + 1]) })),
      retryMs: Number(retryMs),
    }
  }

  async settle(subjects: LimitSubject[], refund: number, leaseId: string): Promise<void> {
    await this.scripts.run(
      SCRIPTS.settle,
      subjects.flatMap(({ key }) => [`${key}:tpm`, `${key}:inflight`]),
      [refund, leaseId, ...subjects.map(({ limits }) => limits.tpm ?? 0)],
    )
  }
}
