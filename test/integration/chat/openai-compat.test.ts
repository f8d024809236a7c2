import type { AddressInfo } from 'node:net'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, createTestApp, type TestApp, createToken } from '../../helpers/app.js'
import { FAST_SIM } from '../../helpers/chat.js'

describe.each(backends)('OpenAI-compatible API with the official client ($name)', (backend) => {
  let t: TestApp
  let client: OpenAI
  let baseURL: string
  beforeAll(async () => {
    t = await createTestApp(backend, { env: FAST_SIM })
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    baseURL = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/v1`
    client = new OpenAI({ apiKey: (await createToken(t, 'chat')).secret, baseURL, maxRetries: 0 })
  })
  afterAll(async () => t?.close())

  const streamed = async (
    params: Omit<OpenAI.ChatCompletionCreateParamsStreaming, 'stream'>,
    options?: OpenAI.RequestOptions,
  ) => {
    const { data: stream, response } = await client.chat.completions
      .create({ ...params, stream: true, stream_options: { include_usage: true } }, options)
      .withResponse()
    let content = ''
    let finishReason: string | null = null
    let usage: OpenAI.CompletionUsage | undefined
    const ids = new Set<string>()
    for await (const chunk of stream) {
      ids.add(chunk.id)
      expect(chunk.object).toBe('chat.completion.chunk')
      if (chunk.usage) usage = chunk.usage
      const choice = chunk.choices[0]
      if (!choice) continue
      content += choice.delta.content ?? ''
      finishReason = choice.finish_reason ?? finishReason
    }
    expect(ids.size).toBe(1)
    return {
      content,
      finishReason,
      usage,
      cache: response.headers.get('x-cache'),
      key: response.headers.get('x-cache-key'),
    }
  }

  const plain = async (params: OpenAI.ChatCompletionCreateParamsNonStreaming, options?: OpenAI.RequestOptions) => {
    const { data, response } = await client.chat.completions.create(params, options).withResponse()
    return { completion: data, cache: response.headers.get('x-cache'), key: response.headers.get('x-cache-key') }
  }

  it('lists the simulated model, named as what it is', async () => {
    const models = await client.models.list()
    expect(models.data.map((m) => m.id)).toEqual(['simulated-no-llm'])
  })

  it('gives identical answers streaming and not, whichever comes first, and the second is a HIT', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Explain keyset pagination.' },
    ]
    const first = await plain({ model: 'simulated-no-llm', messages })
    expect(first.cache).toBe('MISS')
    expect(first.completion).toMatchObject({ object: 'chat.completion', model: 'simulated-no-llm' })
    expect(first.completion.id).toMatch(/^chatcmpl-/)
    expect(first.completion.choices[0]).toMatchObject({
      index: 0,
      finish_reason: 'stop',
      message: { role: 'assistant' },
    })
    const text = first.completion.choices[0]!.message.content!
    expect(text.length).toBeGreaterThan(20)

    const second = await streamed({ model: 'simulated-no-llm', messages })
    expect(second.cache).toBe('HIT')
    expect(second.key).toBe(first.key)
    expect(second.content).toBe(text)
    expect(second.finishReason).toBe('stop')
    expect(second.usage).toEqual(first.completion.usage)

    const other: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'And offset pagination?' }]
    const streamFirst = await streamed({ model: 'simulated-no-llm', messages: other })
    expect(streamFirst.cache).toBe('MISS')
    const plainSecond = await plain({ model: 'simulated-no-llm', messages: other })
    expect(plainSecond.cache).toBe('HIT')
    expect(plainSecond.completion.choices[0]!.message.content).toBe(streamFirst.content)
    expect(plainSecond.completion.usage).toEqual(streamFirst.usage)

    // Without the cache, the provider answers the same (it is deterministic).
    const fresh = await streamed(
      { model: 'simulated-no-llm', messages: other },
      { headers: { 'cache-control': 'no-cache' } },
    )
    expect(fresh.cache).toBe('MISS')
    expect(fresh.content).toBe(streamFirst.content)
  })

  it('ends a stream with [DONE] and sends usage only when asked, as OpenAI does', async () => {
    const res = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'raw stream' }], stream: true }),
    })
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const body = await res.text()
    const events = body.split('\n\n').filter(Boolean)
    expect(events.at(-1)).toBe('data: [DONE]')
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)))
    expect(chunks.every((c) => c.choices.length === 1 && !('usage' in c))).toBe(true)
    expect(chunks[0].choices[0].delta.role).toBe('assistant')
    expect(chunks.at(-1).choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' })
  })

  it('takes content as text parts and the developer role', async () => {
    const parts = await plain({
      model: 'x',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Parts work?' }] },
      ],
    })
    expect(parts.completion.choices[0]!.message.content).toContain('Parts work?')
  })

  it('honours max_tokens with finish_reason length', async () => {
    const { completion } = await plain({
      model: 'x',
      messages: [{ role: 'user', content: 'Cut me short' }],
      max_tokens: 3,
    })
    expect(completion.choices[0]!.finish_reason).toBe('length')
    expect(completion.usage!.completion_tokens).toBe(3)
  })

  it('keeps a request’s cache namespace apart', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'namespaced' }]
    const body = (cache: object) =>
      ({ model: 'x', messages, cache }) as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming
    const a = await plain(body({ namespace: 'team-a' }))
    expect(a.key).toMatch(new RegExp(`^${t.config.cachePrefix}ai_response:team-a:[0-9a-f]{64}$`))
    expect(a.cache).toBe('MISS')
    expect((await plain(body({ namespace: 'team-a' }))).cache).toBe('HIT')
    expect((await plain(body({ namespace: 'team-b' }))).cache).toBe('MISS')
  })

  it('answers errors in a shape the client understands', async () => {
    await expect(client.chat.completions.create({ model: 'x', messages: [] })).rejects.toMatchObject({ status: 400 })
    await expect(
      client.chat.completions.create({
        model: 'x',
        messages: [{ role: 'user', content: 'hi' }],
        tools: [{ type: 'function', function: { name: 'f' } }],
        parallel_tool_calls: 'maybe' as unknown as boolean,
      }),
    ).rejects.toMatchObject({ status: 400, type: 'invalid_request_error', param: 'parallel_tool_calls' })
    await expect(
      client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }], n: 100 }),
    ).rejects.toMatchObject({ status: 400, param: 'n' })
    await expect(
      client.chat.completions.create({
        model: 'x',
        messages: [{ role: 'user', content: 'hi' }],
        tool_choice: 'sometimes' as 'auto',
      }),
    ).rejects.toMatchObject({ status: 400, param: 'tool_choice' })
    const stranger = new OpenAI({ apiKey: 'ccp_not-a-real-token-at-all-0000000000000', baseURL, maxRetries: 0 })
    await expect(stranger.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
    const viewer = new OpenAI({ apiKey: (await createToken(t, 'viewer')).secret, baseURL, maxRetries: 0 })
    await expect(
      viewer.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError)
  })
})
