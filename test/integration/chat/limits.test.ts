import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { backends, createTestApp, embedded, real, useInstances, type TestApp } from '../../helpers/app.js'
import { DisposableRedis } from '../../helpers/redis-server.js'
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js'

/** Rate limits per chat token on the chat API (README, "Limits"), against a real local upstream. */

const upstreamEnv = (upstream: FakeUpstream) => ({
  CHAT_PROVIDER: 'openai',
  OPENAI_BASE_URL: upstream.url,
  OPENAI_MODEL: 'fake-model',
  OPENAI_MAX_RETRIES: '0',
})

async function chatToken(t: TestApp, limits: Record<string, number> = {}, name = 'limited'): Promise<string> {
  const res = await t.request('POST', '/api/tokens', { name, role: 'chat', limits })
  if (res.statusCode !== 201) throw new Error(`could not create a token: ${res.statusCode} ${res.body}`)
  return (res.json() as { secret: string }).secret
}

let prompts = 0
/** A prompt never asked before: every request reaches the upstream (no cache hit). */
const fresh = () => `question ${++prompts} ${Math.random()}`

const RATE_HEADERS = [
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
] as const

function expectOpenAiError(res: LightMyRequestResponse, status: number, code: string, type: string) {
  expect(res.statusCode, res.body).toBe(status)
  const body = res.json() as { error: Record<string, unknown> }
  expect(Object.keys(body.error).sort()).toEqual(expect.arrayContaining(['code', 'message', 'param', 'type'].sort()))
  expect(body.error).toMatchObject({ code, type })
  expect(typeof body.error.message).toBe('string')
  return body.error
}

describe.each(backends)('chat limits on one instance ($name)', (backend) => {
  let upstream: FakeUpstream
  let t: TestApp
  beforeAll(async () => {
    upstream = await startFakeUpstream()
    t = await createTestApp(backend, { env: { ...upstreamEnv(upstream), CHAT_MAX_OUTPUT_TOKENS: '2000' } })
  })
  afterAll(async () => {
    await t?.close()
    await upstream?.close()
  })
  beforeEach(() => {
    upstream.delayMs = 0
    upstream.script = []
  })

  it('answers rpm + 1 with 429 rate_limit_exceeded, OpenAI headers and retry-after', async () => {
    const token = await chatToken(t, { rpm: 3 })
    const ok = []
    for (let i = 0; i < 3; i++) ok.push(await t.chat(fresh(), {}, { token }))
    expect(ok.map((r) => r.statusCode)).toEqual([200, 200, 200])
    expect(ok.map((r) => r.headers['x-ratelimit-remaining-requests'])).toEqual(['2', '1', '0'])
    for (const r of ok) {
      expect(r.headers['x-ratelimit-limit-requests']).toBe('3')
      expect(String(r.headers['x-ratelimit-reset-requests'])).toMatch(/^(\d+ms|\d+(\.\d+)?s|\d+m\d+(\.\d+)?s)$/)
    }
    const refused = await t.chat(fresh(), { stream: true }, { token })
    const error = expectOpenAiError(refused, 429, 'rate_limit_exceeded', 'requests')
    expect(error.message).toMatch(/requests per min/)
    for (const h of RATE_HEADERS) expect(refused.headers[h]).toBeDefined()
    expect(refused.headers['x-ratelimit-remaining-requests']).toBe('0')
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(upstream.completionCalls).toBeGreaterThanOrEqual(3)
    const limited = await t.app.metrics.chatRateLimitedTotal.get()
    expect(limited.values.find((v) => v.labels.reason === 'rpm')?.value).toBeGreaterThanOrEqual(1)
  })

  it('reserves the prompt estimate plus max_tokens, refuses what does not fit, and settles to the real usage', async () => {
    const token = await chatToken(t, { tpm: 1_000 })
    // More than the whole minute's tokens: refused at once, nothing reserved.
    const tooBig = await t.chat(fresh(), { max_tokens: 1_200 }, { token })
    expectOpenAiError(tooBig, 429, 'rate_limit_exceeded', 'tokens')
    expect(tooBig.headers['x-ratelimit-limit-tokens']).toBe('1000')

    const first = await t.chat(fresh(), { max_tokens: 600 }, { token })
    expect(first.statusCode, first.body).toBe(200)
    // Right after the check, 600 + the prompt estimate are held.
    expect(Number(first.headers['x-ratelimit-remaining-tokens'])).toBeLessThanOrEqual(400)
    const used = first.json().usage.total_tokens as number
    expect(used).toBeLessThan(50)
    // Settled to the real usage: a second 600 fits now (it would not with the first reservation still held).
    const second = await t.chat(fresh(), { max_tokens: 600 }, { token })
    expect(second.statusCode, second.body).toBe(200)
    const remaining = Number(second.headers['x-ratelimit-remaining-tokens'])
    expect(remaining).toBeGreaterThanOrEqual(1_000 - used - 650)
    // With both settled, a third 600 fits too; a reservation of 2 × 600 at once does not.
    const [a, b] = await Promise.all([
      t.chat(fresh(), { max_tokens: 600 }, { token }),
      t.chat(fresh(), { max_tokens: 600 }, { token }),
    ])
    expect([a!.statusCode, b!.statusCode].sort()).toEqual([200, 429])
  })

  it('never has more than `concurrency` requests of a token in flight upstream', async () => {
    const token = await chatToken(t, { concurrency: 2 })
    upstream.delayMs = 300
    upstream.maxInFlight = 0
    const answers = await Promise.all(Array.from({ length: 6 }, () => t.chat(fresh(), {}, { token })))
    expect(upstream.maxInFlight).toBeLessThanOrEqual(2)
    expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(2)
    for (const r of answers.filter((r) => r.statusCode !== 200))
      expectOpenAiError(r, 429, 'rate_limit_exceeded', 'requests')
    // The slots are free again once the requests are done.
    upstream.delayMs = 0
    expect((await t.chat(fresh(), {}, { token })).statusCode).toBe(200)
  })

  it('bounds max_tokens and max_completion_tokens by CHAT_MAX_OUTPUT_TOKENS', async () => {
    const token = await chatToken(t)
    const over = await t.chat(fresh(), { max_tokens: 2_001 }, { token })
    const error = expectOpenAiError(over, 400, 'invalid_request_error', 'invalid_request_error')
    expect(error).toMatchObject({ param: 'max_tokens' })
    expect(error.message).toMatch(/at most 2000/)
    const overCompletion = await t.chat(fresh(), { max_completion_tokens: 5_000 }, { token })
    expect(expectOpenAiError(overCompletion, 400, 'invalid_request_error', 'invalid_request_error').param).toBe(
      'max_completion_tokens',
    )
    expect((await t.chat(fresh(), { max_tokens: 2_000 }, { token })).statusCode).toBe(200)
  })

  it("answers every /v1 error in OpenAI's shape, and /api errors in ours", async () => {
    const token = await chatToken(t)
    const invalid = await t.request('POST', '/v1/chat/completions', { messages: [] }, { token })
    expect(expectOpenAiError(invalid, 400, 'invalid_request_error', 'invalid_request_error').param).toBe('messages')
    const noAuth = await t.request('POST', '/v1/chat/completions', { messages: [] }, { token: '' })
    expectOpenAiError(noAuth, 401, 'invalid_api_key', 'authentication_error')
    const unknown = await t.request('GET', '/v1/nowhere', undefined, { token })
    expectOpenAiError(unknown, 404, 'not_found', 'not_found_error')
    upstream.script = [{ status: 500 }]
    const upstreamFailed = await t.chat(fresh(), {}, { token })
    expectOpenAiError(upstreamFailed, 502, 'upstream_error', 'server_error')
    const ours = await t.request('GET', '/api/nowhere')
    expect(ours.statusCode).toBe(404)
    expect(ours.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } })
  })
})

describe.each(backends)('CHAT_DEFAULT_* ($name)', (backend) => {
  let upstream: FakeUpstream
  let t: TestApp
  beforeAll(async () => {
    upstream = await startFakeUpstream()
    t = await createTestApp(backend, {
      env: {
        ...upstreamEnv(upstream),
        CHAT_DEFAULT_RPM: '2',
        CHAT_DEFAULT_TPM: '50000',
        CHAT_DEFAULT_CONCURRENCY: '5',
      },
    })
  })
  afterAll(async () => {
    await t?.close()
    await upstream?.close()
  })

  it('apply to tokens without limits of their own; a token that sets one keeps its own', async () => {
    const plain = await chatToken(t, {}, 'plain')
    const first = await t.chat(fresh(), {}, { token: plain })
    expect(first.headers['x-ratelimit-limit-requests']).toBe('2')
    expect(first.headers['x-ratelimit-limit-tokens']).toBe('50000')
    expect((await t.chat(fresh(), {}, { token: plain })).statusCode).toBe(200)
    expectOpenAiError(await t.chat(fresh(), {}, { token: plain }), 429, 'rate_limit_exceeded', 'requests')

    const own = await chatToken(t, { rpm: 4 }, 'own')
    const answers = []
    for (let i = 0; i < 5; i++) answers.push((await t.chat(fresh(), {}, { token: own })).statusCode)
    expect(answers).toEqual([200, 200, 200, 200, 429])

    // PATCH changes the limit at once, on every instance (the grant cache is dropped).
    const tokens = (await t.request('GET', '/api/tokens')).json() as { tokens: Array<{ id: string; name: string }> }
    const id = tokens.tokens.find((tk) => tk.name === 'own')!.id
    expect((await t.request('PATCH', `/api/tokens/${id}`, { limits: { rpm: 100 } })).statusCode).toBe(200)
    const after = await t.chat(fresh(), {}, { token: own })
    expect(after.headers['x-ratelimit-limit-requests']).toBe('100')
  })
})

/** Exactness across instances: two apps on one Postgres schema and one Redis (CI's real backend). */
describe.each(real?.redisUrl ? [real] : [])('chat limits across two instances ($name)', (backend) => {
  let upstream: FakeUpstream
  beforeAll(async () => {
    upstream = await startFakeUpstream()
  })
  afterAll(async () => upstream?.close())
  const [a, b] = useInstances(backend, 2, {
    get env() {
      return upstreamEnv(upstream)
    },
  }) as [TestApp, TestApp]

  it('lets exactly 10 of 40 concurrent requests through against rpm: 10, the other 30 get 429 with the headers', async () => {
    const token = await chatToken(a, { rpm: 10 })
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).chat(fresh(), {}, { token })),
    )
    const ok = answers.filter((r) => r.statusCode === 200)
    const refused = answers.filter((r) => r.statusCode === 429)
    expect(ok).toHaveLength(10)
    expect(refused).toHaveLength(30)
    for (const r of refused) {
      expectOpenAiError(r, 429, 'rate_limit_exceeded', 'requests')
      for (const h of RATE_HEADERS) expect(r.headers[h]).toBeDefined()
      expect(r.headers['x-ratelimit-limit-requests']).toBe('10')
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    }
  })

  it('never has more than 2 in flight upstream with concurrency: 2, whichever instance they reach', async () => {
    const token = await chatToken(a, { concurrency: 2 })
    upstream.delayMs = 300
    upstream.maxInFlight = 0
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).chat(fresh(), {}, { token })),
    )
    upstream.delayMs = 0
    expect(upstream.maxInFlight).toBeLessThanOrEqual(2)
    expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(2)
    expect(answers.filter((r) => r.statusCode === 429)).toHaveLength(8)
  })
})

/** Redis SIGKILLed mid-run (a redis-server of the test's own): chat answers, limits hold per instance, the counter says so. */
describe('chat limits when Redis dies', () => {
  let server: DisposableRedis
  let upstream: FakeUpstream
  let t: TestApp
  beforeAll(async () => {
    server = await DisposableRedis.start()
    upstream = await startFakeUpstream()
    t = await createTestApp(
      { ...embedded, name: 'embedded + own redis-server', redisUrl: server.url },
      { env: { ...upstreamEnv(upstream), REDIS_COMMAND_TIMEOUT_MS: '200' } },
    )
  })
  afterAll(async () => {
    await server?.restart().catch(() => {})
    await t?.close()
    await server?.kill()
    await upstream?.close()
  })
  const fallbacks = async () => (await t.app.metrics.chatLimitFallbackTotal.get()).values[0]?.value ?? 0

  it('keeps answering, falls back to per-instance limits and counts the fallback', async () => {
    const token = await chatToken(t, { rpm: 1_000, concurrency: 10 })
    const strict = await chatToken(t, { rpm: 3 }, 'strict')
    expect((await t.chat(fresh(), {}, { token })).statusCode).toBe(200)
    expect(await fallbacks()).toBe(0)

    await server.kill()

    const during = await Promise.all(Array.from({ length: 8 }, () => t.chat(fresh(), {}, { token })))
    expect(during.map((r) => r.statusCode)).toEqual(Array(8).fill(200))
    expect(await fallbacks()).toBeGreaterThan(0)
    // Still limited, in this instance's memory.
    const strictAnswers = []
    for (let i = 0; i < 4; i++) strictAnswers.push((await t.chat(fresh(), {}, { token: strict })).statusCode)
    expect(strictAnswers).toEqual([200, 200, 200, 429])
  })
})
