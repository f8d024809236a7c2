import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { backends, embedded, real, useInstances, useTestApp, type TestApp } from '../../helpers/app.js'

const pricesDir = mkdtempSync(join(tmpdir(), 'ccp-prices-'))
const pricedFile = join(pricesDir, 'priced.yaml')
writeFileSync(pricedFile, 'simulated-no-llm: { input: 2, output: 8 }\n')
const unpricedFile = join(pricesDir, 'unpriced.yaml')
writeFileSync(unpricedFile, 'gpt-4o-mini: { input: 0.15, output: 0.6 }\n')

async function chatToken(t: TestApp, body: Record<string, unknown>) {
  const res = await t.request('POST', '/api/tokens', { role: 'chat', ...body })
  expect(res.statusCode, res.body).toBe(201)
  return res.json() as { token: { id: string }; secret: string }
}

interface Usage {
  prompt_tokens: number
  completion_tokens: number
}

describe.each(backends)('usage rollup and prices ($name)', (backend) => {
  const t = useTestApp(backend, { env: { MODEL_PRICES_FILE: pricedFile } })

  it('adds every completion (cached or not, /v1 and conversations) to the rollup; cost follows the price table', async () => {
    const a = await chatToken(t, { name: 'usage a' })
    const b = await chatToken(t, { name: 'usage b', project: 'usage-proj' })
    const received: Record<string, { requests: number; cached: number; prompt: number; completion: number }> = {}
    const add = (id: string, usage: Usage, cached: boolean) => {
      const r = (received[id] ??= { requests: 0, cached: 0, prompt: 0, completion: 0 })
      r.requests++
      if (cached) r.cached++
      r.prompt += usage.prompt_tokens
      r.completion += usage.completion_tokens
    }
    for (const [who, prompt] of [
      [a, 'first question'],
      [a, 'first question'],
      [a, 'second question'],
      [b, 'a question of b'],
      [b, 'a question of b'],
    ] as const) {
      const res = await t.chat(prompt, {}, { token: who.secret })
      expect(res.statusCode, res.body).toBe(200)
      add(who.token.id, res.json().usage, res.headers['x-cache'] === 'HIT')
    }
    // A streamed answer counts too: its usage comes in the last chunk.
    const streamed = await t.chat(
      'streamed question',
      { stream: true, stream_options: { include_usage: true } },
      { token: a.secret },
    )
    expect(streamed.statusCode).toBe(200)
    const usageChunk = streamed.body
      .split('\n')
      .filter((line) => line.startsWith('data: {'))
      .map((line) => JSON.parse(line.slice(6)))
      .find((chunk) => chunk.usage)
    add(a.token.id, usageChunk.usage, streamed.headers['x-cache'] === 'HIT')
    const { session } = (await t.request('POST', '/api/sessions', {}, { token: b.secret })).json()
    const { conversation } = (
      await t.request('POST', '/api/conversations', { session_id: session.id }, { token: b.secret })
    ).json()
    const posted = await t.request(
      'POST',
      `/api/conversations/${conversation.id}/messages`,
      { content: 'hello there' },
      { token: b.secret },
    )
    expect(posted.statusCode, posted.body).toBe(201)
    add(b.token.id, posted.json().usage, posted.json().cached)
    expect(received[a.token.id]!.cached).toBe(1)

    const res = await t.request('GET', '/api/usage?group_by=token')
    expect(res.statusCode, res.body).toBe(200)
    const rows = res.json().rows as Array<Record<string, unknown>>
    for (const [id, r] of Object.entries(received)) {
      const row = rows.find((x) => x.key === id)
      expect(row).toMatchObject({
        requests: r.requests,
        cached: r.cached,
        prompt_tokens: r.prompt,
        completion_tokens: r.completion,
      })
      expect(row!.cost as number).toBeGreaterThan(0)
    }
    // Cost: exactly the price table's, for the computed answers only.
    const byModel = (await t.request('GET', `/api/usage?group_by=model&token_id=${a.token.id}`)).json().rows
    expect(byModel).toHaveLength(1)
    expect(byModel[0].key).toBe('simulated-no-llm')

    const byProject = (await t.request('GET', '/api/usage?group_by=project&project=usage-proj')).json().rows
    expect(byProject).toEqual([
      expect.objectContaining({ key: 'usage-proj', requests: received[b.token.id]!.requests }),
    ])
    const byHour = (await t.request('GET', '/api/usage?group_by=hour')).json().rows
    expect(byHour).toHaveLength(1)
    expect(byHour[0].key).toMatch(/^\d{4}-\d\d-\d\dT\d\d:00:00Z$/)
    const byDay = (await t.request('GET', '/api/usage?group_by=day')).json().rows
    expect(byDay[0].key).toMatch(/T00:00:00Z$/)
    expect(byDay[0].requests).toBe(7)

    const csv = await t.request('GET', '/api/usage?group_by=token&format=csv')
    expect(csv.statusCode).toBe(200)
    expect(csv.headers['content-type']).toMatch(/^text\/csv/)
    const lines = csv.body.trim().split('\r\n')
    expect(lines[0]).toBe('token,requests,cached,prompt_tokens,completion_tokens,cost')
    expect(lines.find((l) => l.startsWith(a.token.id))).toBe(
      [
        a.token.id,
        received[a.token.id]!.requests,
        1,
        received[a.token.id]!.prompt,
        received[a.token.id]!.completion,
        rows.find((x) => x.key === a.token.id)!.cost,
      ].join(','),
    )

    // /self: only the caller's scope.
    const self = (await t.request('GET', '/api/usage/self?group_by=token', undefined, { token: a.secret })).json()
    expect(self.rows.map((r: { key: string }) => r.key)).toEqual([a.token.id])
    expect((await t.request('GET', '/api/usage', undefined, { token: a.secret })).statusCode).toBe(403)
    expect((await t.request('GET', '/api/usage?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z')).statusCode).toBe(
      400,
    )
  })

  it("shows each token's usage this period on GET /api/tokens, and its project's combined spend", async () => {
    const p1 = await chatToken(t, { name: 'proj one', project: 'shared-p', budget: { tokens: 100_000, period: 'day' } })
    const p2 = await chatToken(t, { name: 'proj two', project: 'shared-p' })
    const r1 = (await t.chat('tokens page one', {}, { token: p1.secret })).json().usage as Usage
    const r2 = (await t.chat('tokens page two', {}, { token: p2.secret })).json().usage as Usage
    const listed = (await t.request('GET', '/api/tokens')).json().tokens as Array<{ id: string; usage: any }>
    const one = listed.find((x) => x.id === p1.token.id)!.usage
    expect(one).toMatchObject({
      period: 'day',
      requests: 1,
      prompt_tokens: r1.prompt_tokens,
      completion_tokens: r1.completion_tokens,
      scope_tokens: r1.prompt_tokens + r1.completion_tokens + r2.prompt_tokens + r2.completion_tokens,
    })
    expect(one.period_start).toMatch(/T00:00:00.000Z$/)
    expect(listed.find((x) => x.id === p2.token.id)!.usage).toMatchObject({ period: 'month', requests: 1 })
  })

  it('prices a computed answer exactly: prompt × input + completion × output per million', async () => {
    const c = await chatToken(t, { name: 'usage c' })
    const res = await t.chat('price me exactly', { cache: { 'no-cache': true } }, { token: c.secret })
    const u = res.json().usage as Usage
    const row = (await t.request('GET', `/api/usage?group_by=token&token_id=${c.token.id}`)).json().rows[0]
    expect(row.cost).toBeCloseTo((u.prompt_tokens * 2 + u.completion_tokens * 8) / 1e6, 12)
  })
})

describe.each(backends)('usage of a model without a price ($name)', (backend) => {
  const t = useTestApp(backend, { env: { MODEL_PRICES_FILE: unpricedFile } })

  it('shows cost null, never an invented one', async () => {
    const res = await t.chat('no price for this model')
    expect(res.statusCode).toBe(200)
    const rows = (await t.request('GET', '/api/usage?group_by=model')).json().rows
    expect(rows).toEqual([expect.objectContaining({ key: 'simulated-no-llm', requests: 1, cost: null })])
  })
})

async function spendUntilRefused(instances: TestApp[], budget: number) {
  const { secret } = await chatToken(instances[0]!, { name: 'budgeted', budget: { tokens: budget, period: 'day' } })
  const on = (i: number) => instances[i % instances.length]!
  const responses = await Promise.all(
    Array.from({ length: 20 }, (_, i) => on(i).chat(`budget question ${i}`, { max_tokens: 40 }, { token: secret })),
  )
  let spent = 0
  let refused = 0
  for (const res of responses) {
    if (res.statusCode === 200) spent += res.json().usage.prompt_tokens + res.json().usage.completion_tokens
    else {
      expect(res.statusCode, res.body).toBe(429)
      expect(res.json().error.code, res.body).toBe('insufficient_quota')
      refused++
    }
  }
  expect(refused).toBeGreaterThan(0)
  expect(spent).toBeLessThanOrEqual(budget)
  // Settling to the real usage may leave room for a few more; keep asking until refused.
  let last = responses.at(-1)!
  for (let i = 0; i < 30; i++) {
    last = await on(i).chat(`after ${i}`, { max_tokens: 40 }, { token: secret })
    if (last.statusCode !== 200) break
    spent += last.json().usage.prompt_tokens + last.json().usage.completion_tokens
  }
  expect(spent).toBeLessThanOrEqual(budget)
  expect(last.statusCode).toBe(429)
  expect(last.json().error.code).toBe('insufficient_quota')
  expect(Number(last.headers['retry-after'])).toBeGreaterThan(0)
  return { spent, secret }
}

describe('a token budget on one instance, in memory (embedded)', () => {
  const t = useTestApp(embedded)
  it('is never exceeded under 20 concurrent requests, then answers 429 insufficient_quota', async () => {
    await spendUntilRefused([t], 600)
    // The signal budget_used_ratio{scope}, and the refusals counted; token scopes stay off /metrics by default.
    const snapshot = await t.app.sampler.tick()
    const ratios = snapshot.signals.filter((s) => s.name === 'budget_used_ratio')
    expect(ratios).toHaveLength(1)
    expect(ratios[0]!.labels.scope).toMatch(/^token:/)
    expect(ratios[0]!.value).toBeGreaterThan(0.8)
    const metrics = (await t.request('GET', '/metrics')).body
    expect(metrics).toMatch(/^chat_rate_limited_total\{reason="budget"\} [1-9]/m)
    expect(metrics).not.toMatch(/^budget_used_ratio\{/m)
  })
})

describe('per-token metric labels (embedded)', () => {
  const t = useTestApp(embedded, { env: { METRICS_PER_TOKEN: 'true' } })
  it('exports budget_used_ratio of token scopes only with METRICS_PER_TOKEN=true', async () => {
    const { token, secret } = await chatToken(t, { name: 'metered', budget: { tokens: 10_000, period: 'month' } })
    expect((await t.chat('count me', {}, { token: secret })).statusCode).toBe(200)
    await t.app.sampler.tick()
    const metrics = (await t.request('GET', '/metrics')).body
    expect(metrics).toContain(`budget_used_ratio{scope="token:${token.id}"}`)
  })
})

describe.runIf(real?.databaseUrl && real?.redisUrl)('a token budget across two instances on one Redis', () => {
  const instances = useInstances(real!, 2)
  it('is never exceeded under 20 concurrent requests, then answers 429 insufficient_quota', async () => {
    await spendUntilRefused(instances, 600)
  })
})

describe.each(backends)('a budget set mid-period ($name)', (backend) => {
  const t = useTestApp(backend)

  it('counts what the scope spent earlier in the period, not from zero', async () => {
    const { token, secret } = await chatToken(t, { name: 'late budget' })
    let spent = 0
    for (const prompt of ['spent before one', 'spent before two']) {
      const usage = (await t.chat(prompt, { max_tokens: 20 }, { token: secret })).json().usage as Usage
      spent += usage.prompt_tokens + usage.completion_tokens
    }
    // Room for less than one more request's reservation (its prompt + max_tokens 20).
    const patched = await t.request('PATCH', `/api/tokens/${token.id}`, {
      budget: { tokens: spent + 10, period: 'month' },
    })
    expect(patched.statusCode, patched.body).toBe(200)
    const refused = await t.chat('one more', { max_tokens: 20 }, { token: secret })
    expect(refused.statusCode, refused.body).toBe(429)
    expect(refused.json().error.code).toBe('insufficient_quota')
  })
})
