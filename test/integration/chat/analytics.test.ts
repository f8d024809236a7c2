import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { backends, createTestApp, useTestApp, type TestApp } from '../../helpers/app.js'
import { FAST_SIM, newConversation } from '../../helpers/chat.js'

/** The newest analytics event, once the buffered ones are written. */
async function lastEvent(t: TestApp) {
  await t.app.chat.repos.analytics.flush()
  return t.app.db.selectFrom('analytics_events').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow()
}

describe.each(backends)('chat analytics, metrics and warming ($name)', (backend) => {
  const t = useTestApp(backend, { env: FAST_SIM })

  const complete = (content: string, extra: Record<string, unknown> = {}) =>
    t.request('POST', '/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content }], ...extra })

  it('writes one analytics event per chat request with model, cached, latency, tokens and the prompt', async () => {
    const miss = await complete('Analytics  please ')
    const hit = await complete('Analytics please', { stream: true })
    expect(hit.headers['x-cache']).toBe('HIT')
    // Events are written behind the request, in batches: flush to read this instance's own.
    await t.app.chat.repos.analytics.flush()
    const rows = await t.app.db
      .selectFrom('analytics_events')
      .selectAll()
      .where('type', '=', 'chat_completion')
      .orderBy('id')
      .execute()
    const [first, second] = rows.slice(-2).map((r) => r.data as Record<string, any>)
    const hash = String(miss.headers['x-cache-key']).split(':').at(-1)
    expect(first).toMatchObject({
      api: 'openai',
      provider: 'simulated',
      model: 'simulated-no-llm',
      status: 'ok',
      cached: false,
      stream: false,
      prompt_hash: hash,
      prompt: { model: 'simulated-no-llm', messages: [{ role: 'user', content: 'Analytics please' }], params: {} },
    })
    expect(first!.latency_ms).toBeGreaterThanOrEqual(0)
    expect(first!.tokens_input).toBeGreaterThan(0)
    expect(first!.tokens_output).toBeGreaterThan(0)
    expect(second).toMatchObject({ cached: true, stream: true, prompt_hash: hash })

    const { sessionId, conversationId } = await newConversation(t)
    await t.request('POST', `/api/conversations/${conversationId}/messages`, { content: 'in a conversation' })
    const event = await lastEvent(t)
    expect(event).toMatchObject({ session_id: sessionId, conversation_id: conversationId })
    expect(event.data).toMatchObject({ api: 'conversation' })
  })

  it('records failures too, with their error code', async () => {
    const failing = await createTestApp(backend, { env: { ...FAST_SIM, SIM_ERROR_RATE: '1' } })
    try {
      const res = await failing.chat('fail')
      expect(res.statusCode).toBe(502)
      expect(res.json().error.message).toMatch(/SIM_ERROR_RATE/)
      const event = await lastEvent(failing)
      expect(event.data).toMatchObject({ status: 'error', error_code: 'upstream_error', cached: false })
      const requests = await failing.app.metrics.chatRequestsTotal.get()
      expect(requests.values.find((v) => v.labels.status === 'error')?.value).toBe(1)
    } finally {
      await failing.close()
    }
  })

  it('counts requests, duration, first-token time, tokens and cache lookups on the app’s metrics', async () => {
    await complete('metrics one')
    await complete('metrics one')
    const { metrics } = t.app
    const requests = (await metrics.chatRequestsTotal.get()).values
    const find = (cached: string) =>
      requests.find((v) => v.labels.cached === cached && v.labels.status === 'ok')?.value ?? 0
    expect(find('false')).toBeGreaterThan(0)
    expect(find('true')).toBeGreaterThan(0)
    expect((await metrics.chatCompletionDuration.get()).values.length).toBeGreaterThan(0)
    expect((await metrics.chatTimeToFirstToken.get()).values.length).toBeGreaterThan(0)
    const tokens = (await metrics.chatTokensTotal.get()).values
    expect(tokens.find((v) => v.labels.direction === 'input')?.value).toBeGreaterThan(0)
    expect(tokens.find((v) => v.labels.direction === 'output')?.value).toBeGreaterThan(0)
    const lookups = (await metrics.cacheRequestsTotal.get()).values
    const lookup = (layer: string, result: string) =>
      lookups.find(
        (v) => v.labels.cache_type === 'ai_response' && v.labels.layer === layer && v.labels.result === result,
      )?.value ?? 0
    expect(lookup('l1', 'hit')).toBeGreaterThan(0)
    expect(lookup('l1', 'miss')).toBeGreaterThan(0)
    if (backend.redisUrl) expect(lookup('l2', 'miss')).toBeGreaterThan(0)
    else expect(lookup('l2', 'miss') + lookup('l2', 'hit')).toBe(0)
  })

  it('lists the most frequent prompts of a period, and warms the cache with them', async () => {
    const since = new Date(Date.now() - 1000)
    for (let i = 0; i < 3; i++) await complete('Popular   question', { temperature: 0.5 })
    await complete('Rare question')
    await complete(`Long ${'x'.repeat(5_000)}`)
    const top = await t.app.chat.repos.analytics.topPrompts(since, 10)
    expect(top[0]).toMatchObject({
      scope: expect.stringMatching(/^token:/),
      count: 3,
      model: 'simulated-no-llm',
      messages: [{ role: 'user', content: 'Popular question' }],
      params: { temperature: 0.5 },
    })
    expect(top.map((p) => p.messages[0]!.content)).toContain('Rare question')
    expect(top.some((p) => p.messages[0]!.content.startsWith('Long'))).toBe(false)
    expect(await t.app.chat.repos.analytics.topPrompts(new Date(Date.now() + 60_000), 10)).toEqual([])

    // What warming computes is what an identical request later finds.
    await t.app.cache.clear()
    const warmed = await t.app.chat.warm(top[0]!.scope, top[0]!.messages, top[0]!.model, top[0]!.params)
    expect(warmed.warmed).toBe(true)
    const res = await complete('Popular question', { temperature: 0.5 })
    expect(res.headers['x-cache']).toBe('HIT')
    expect(res.headers['x-cache-key']).toBe(warmed.cacheKey)
    expect((await t.app.chat.warm(top[0]!.scope, top[0]!.messages, top[0]!.model, top[0]!.params)).warmed).toBe(false)
    await t.app.chat.repos.analytics.flush()
    const warmEvents = await t.app.db
      .selectFrom('analytics_events')
      .select('id')
      .where(sql<boolean>`data->>'api' = 'warm'`)
      .execute()
    expect(warmEvents).toEqual([])
  })
})
