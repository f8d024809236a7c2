import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { backends, createTestApp, type TestApp } from '../../helpers/app.js'
import { freePort } from '../../helpers/process.js'
import { startFakeUpstream, upstreamReply, type FakeUpstream } from './fake-upstream.js'
import { newConversation, parseSse } from '../../helpers/chat.js'

const TIMEOUT_MS = 3_000

describe.each(backends)('openai provider against a real local upstream ($name)', (backend) => {
  let upstream: FakeUpstream
  let t: TestApp
  beforeAll(async () => {
    upstream = await startFakeUpstream()
    t = await createTestApp(backend, {
      captureLogs: true,
      env: {
        CHAT_PROVIDER: 'openai',
        OPENAI_BASE_URL: upstream.url,
        OPENAI_API_KEY: 'upstream-key',
        OPENAI_MODEL: 'fake-model',
        OPENAI_TIMEOUT_MS: String(TIMEOUT_MS),
        CHAT_HISTORY_MESSAGES: '3',
      },
    })
  })
  afterAll(async () => {
    await t?.close()
    await upstream?.close()
  })
  beforeEach(() => upstream.reset())
  /** The app's log lines about failed upstream calls. */
  const upstreamLogLines = () => t.logs.filter((l) => l.msg === 'upstream call failed')

  let prompts = 0
  const uniquePrompt = () => `prompt ${++prompts} ${Date.now()}`
  const complete = (content: string, extra: Record<string, unknown> = {}) => t.chat(content, extra)

  it('passes requests upstream with its key and streaming on, and answers in both shapes', async () => {
    const prompt = uniquePrompt()
    const res = await complete(prompt, { temperature: 0.3 })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.choices[0].message.content).toBe(upstreamReply([{ content: prompt }]))
    expect(body.model).toBe('fake-model-2026')
    expect(body.usage.prompt_tokens).toBe(11)
    const sent = upstream.requests.at(-1)!
    expect(sent).toMatchObject({
      model: 'fake-model',
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.3,
    })
    expect(upstream.authorizations.at(-1)).toBe('Bearer upstream-key')

    const other = uniquePrompt()
    upstream.tokenDelayMs = 5
    const streamed = await complete(other, { stream: true })
    const chunks = parseSse(streamed.body)
      .slice(0, -1)
      .map((e) => JSON.parse(e.data))
    expect(parseSse(streamed.body).at(-1)!.data).toBe('[DONE]')
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(upstreamReply([{ content: other }]))
  })

  it('sends 20 identical concurrent requests upstream once', async () => {
    const prompt = uniquePrompt()
    upstream.delayMs = 500
    const before = upstream.completionCalls
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => complete(prompt, i % 2 ? { stream: true } : {})),
    )
    expect(upstream.completionCalls - before).toBe(1)
    expect(responses.every((r) => r.statusCode === 200)).toBe(true)
    expect(responses.filter((r) => r.headers['x-cache'] === 'MISS')).toHaveLength(1)
    const contents = responses.map((r) =>
      String(r.headers['content-type']).startsWith('text/event-stream')
        ? parseSse(r.body)
            .filter((e) => e.data !== '[DONE]')
            .map((e) => JSON.parse(e.data).choices[0]?.delta.content ?? '')
            .join('')
        : r.json().choices[0].message.content,
    )
    expect(new Set(contents)).toEqual(new Set([upstreamReply([{ content: prompt }])]))
    const stats = (await t.request('GET', '/api/cache/stats')).json()
    expect(stats.namespaces.ai_response.coalesced).toBeGreaterThanOrEqual(19)
  })

  it('retries 429 and 5xx before the first token', async () => {
    upstream.script = [{ status: 503 }, { status: 429, headers: { 'retry-after': '0' } }]
    const before = upstream.completionCalls
    const res = await complete(uniquePrompt())
    expect(res.statusCode).toBe(200)
    expect(upstream.completionCalls - before).toBe(3)
  })

  it('gives up after OPENAI_MAX_RETRIES with a 502 that says why in its own words', async () => {
    upstream.script = [
      { status: 500 },
      { status: 500 },
      { status: 500, body: { error: { message: 'the GPU caught fire' } } },
    ]
    const before = upstream.completionCalls
    const res = await complete(uniquePrompt())
    expect(res.statusCode).toBe(502)
    // OpenAI's error shape on /v1 (README, "Limits"): type and param beside our code and message.
    expect(res.json().error).toEqual({
      code: 'upstream_error',
      type: 'server_error',
      param: null,
      message: 'The upstream answered 500 (3 attempts)',
      upstreamStatus: 500,
    })
    expect(res.body).not.toContain('GPU')
    expect(upstream.completionCalls - before).toBe(3)
    // The operator finds the upstream's words in the log.
    expect(upstreamLogLines().some((l) => String(l.upstreamError).includes('the GPU caught fire'))).toBe(true)
  })

  /** What OpenAI answers to a wrong key (its real shape; it echoes the key it was sent). */
  const LEAKED_KEY = 'sk-proj-abc123DEF456ghi789JKL012mno345PQR678stu901VWX'
  const wrongKey = {
    status: 401,
    body: {
      error: {
        message: `Incorrect API key provided: ${LEAKED_KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    },
  }
  const ourUpstreamError = { code: 'upstream_error', message: 'The upstream answered 401', upstreamStatus: 401 }
  const openAiUpstreamError = { ...ourUpstreamError, type: 'server_error', param: null }

  it('does not retry a request the upstream rejects, and never passes the upstream’s text on', async () => {
    const before = upstream.completionCalls
    upstream.script = [wrongKey]
    const openAi = await complete(uniquePrompt())
    expect(openAi.statusCode).toBe(502)
    expect(openAi.json().error).toEqual(openAiUpstreamError)
    expect(upstream.completionCalls - before).toBe(1)

    // Streamed, it fails before the first token: the same JSON error.
    upstream.script = [wrongKey]
    const streamed = await complete(uniquePrompt(), { stream: true })
    expect(streamed.statusCode).toBe(502)
    expect(streamed.json().error).toEqual(openAiUpstreamError)

    const { conversationId } = await newConversation(t)
    upstream.script = [wrongKey]
    const message = await t.request('POST', `/api/conversations/${conversationId}/messages`, { content: 'hi' })
    expect(message.statusCode).toBe(502)
    expect(message.json().error).toEqual(ourUpstreamError)

    for (const res of [openAi, streamed, message]) {
      expect(res.body).not.toContain('sk-')
      expect(res.body).not.toContain('Incorrect API key')
    }
  })

  it('logs the upstream’s error text with keys and bearer tokens redacted', async () => {
    upstream.script = [wrongKey]
    await complete(uniquePrompt())
    upstream.script = [{ status: 400, body: 'rejected header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc' }]
    await complete(uniquePrompt())
    const lines = upstreamLogLines()
    const rejected = lines.find((l) => l.upstreamStatus === 401)
    expect(rejected).toMatchObject({
      upstreamError: expect.stringContaining('Incorrect API key provided: sk-[redacted]. You can find your API key'),
    })
    expect(lines.find((l) => l.upstreamStatus === 400)).toMatchObject({
      upstreamError: expect.stringContaining('Authorization: Bearer [redacted]'),
    })
    const everything = JSON.stringify(t.logs)
    expect(everything).not.toContain(LEAKED_KEY.slice(3))
    expect(everything).not.toContain('eyJhbGciOiJIUzI1NiJ9')
  })

  it('ends a stream whose upstream reports an error mid-way with our error event, not its text', async () => {
    upstream.midStreamError = wrongKey.body.error
    const { conversationId } = await newConversation(t)
    const res = await t.request('POST', `/api/conversations/${conversationId}/messages`, {
      content: uniquePrompt(),
      stream: true,
    })
    const events = parseSse(res.body)
    expect(events.filter((e) => e.event === 'token').length).toBeGreaterThan(0)
    expect(events.at(-1)!.event).toBe('error')
    expect(JSON.parse(events.at(-1)!.data)).toEqual({
      code: 'upstream_error',
      message: 'The upstream failed mid-stream: it reported an error',
    })

    const openAi = await complete(uniquePrompt(), { stream: true })
    const last = JSON.parse(parseSse(openAi.body).at(-1)!.data)
    expect(last.error).toMatchObject({
      code: 'upstream_error',
      message: 'The upstream failed mid-stream: it reported an error',
    })
    for (const body of [res.body, openAi.body]) {
      expect(body).not.toContain('sk-')
      expect(body).not.toContain('Incorrect API key')
    }
    expect(
      upstreamLogLines().some((l) => String(l.upstreamError).includes('Incorrect API key provided: sk-[redacted]')),
    ).toBe(true)
  })

  it('answers 504 when the upstream is slower than OPENAI_TIMEOUT_MS', async () => {
    upstream.delayMs = TIMEOUT_MS + 2_000
    const res = await complete(uniquePrompt())
    expect(res.statusCode).toBe(504)
    expect(res.json().error.code).toBe('upstream_timeout')
  })

  it('ends a stream that breaks mid-way with an error event, without retrying', async () => {
    upstream.failMidStream = true
    const before = upstream.completionCalls
    const { conversationId } = await newConversation(t)
    const res = await t.request('POST', `/api/conversations/${conversationId}/messages`, {
      content: uniquePrompt(),
      stream: true,
    })
    expect(res.statusCode).toBe(200)
    const events = parseSse(res.body)
    expect(events.filter((e) => e.event === 'token').length).toBeGreaterThan(0)
    expect(events.at(-1)!.event).toBe('error')
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({
      code: 'upstream_error',
      message: 'The upstream failed mid-stream: it broke off its stream',
    })
    expect(upstream.completionCalls - before).toBe(1)

    const openAi = await complete(uniquePrompt(), { stream: true })
    const last = parseSse(openAi.body).at(-1)!
    expect(JSON.parse(last.data).error).toMatchObject({ code: 'upstream_error' })
  })

  it('sends the conversation’s last CHAT_HISTORY_MESSAGES messages', async () => {
    const { conversationId } = await newConversation(t)
    for (const content of ['one', 'two', 'three']) {
      const res = await t.request('POST', `/api/conversations/${conversationId}/messages`, { content })
      expect(res.statusCode).toBe(201)
    }
    const sent = upstream.requests.at(-1)!.messages as Array<{ role: string; content: string }>
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'user'])
    expect(sent.map((m) => m.content)).toEqual([
      'two',
      upstreamReply([{ content: 'two' }]).replace('1 messages', '3 messages'),
      'three',
    ])
  })

  it('lists the upstream’s models through the models cache', async () => {
    // The health-check job (every 15 s) may already have listed them on a slow run: start empty.
    await t.app.cache.clear({ namespace: 'models' })
    const before = upstream.modelsCalls
    for (let i = 0; i < 2; i++) {
      const res = await t.request('GET', '/v1/models')
      expect(res.json()).toEqual({
        object: 'list',
        data: [{ id: 'fake-model-1', object: 'model', created: 1700000000, owned_by: 'fake' }],
      })
    }
    expect(upstream.modelsCalls - before).toBe(1)
  })

  it('reports the provider up or down from GET /models', async () => {
    const health = async () =>
      (await t.request('GET', '/api/health'))
        .json()
        .components.find((c: { component: string }) => c.component === 'provider')
    expect(await health()).toMatchObject({ up: true })
    upstream.modelsStatus = 500
    expect(await health()).toMatchObject({ up: false, error: expect.stringContaining('500') })
  })
})

describe('openai provider with nothing listening upstream', () => {
  let t: TestApp
  beforeAll(async () => {
    const port = await freePort()
    t = await createTestApp(backends[0]!, {
      env: { CHAT_PROVIDER: 'openai', OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, OPENAI_MAX_RETRIES: '1' },
    })
  })
  afterAll(async () => t?.close())

  it('answers 502 saying the upstream cannot be reached, and reports the provider down', async () => {
    const res = await t.chat('anyone?')
    expect(res.statusCode).toBe(502)
    expect(res.json().error).toEqual({
      code: 'upstream_error',
      type: 'server_error',
      param: null,
      message: 'The upstream could not be reached (2 attempts)',
    })
    const health = (await t.request('GET', '/api/health')).json()
    expect(health.components.find((c: { component: string }) => c.component === 'provider')).toMatchObject({
      up: false,
    })
  })
})
