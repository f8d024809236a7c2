import type { AddressInfo } from 'node:net'
import { Ajv } from 'ajv'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { backends, createTestApp, createToken, type TestApp } from '../../helpers/app.js'
import { FAST_SIM } from '../../helpers/chat.js'
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js'

const weather: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string', minLength: 2 },
        unit: { enum: ['c', 'f'] },
        days: { type: 'integer', minimum: 1 },
      },
      required: ['city', 'unit', 'days'],
      additionalProperties: false,
    },
  },
}
const ajv = new Ajv()

async function clientFor(t: TestApp): Promise<OpenAI> {
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  const baseURL = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/v1`
  return new OpenAI({ apiKey: (await createToken(t, 'chat')).secret, baseURL, maxRetries: 0 })
}

/** The chunks of a stream, and its tool calls assembled from their deltas by index. */
async function collect(stream: AsyncIterable<OpenAI.ChatCompletionChunk>) {
  const chunks: OpenAI.ChatCompletionChunk[] = []
  const calls: Array<{ id?: string; type?: string; function: { name: string; arguments: string } }> = []
  for await (const chunk of stream) {
    chunks.push(chunk)
    for (const d of chunk.choices[0]?.delta.tool_calls ?? []) {
      const call = (calls[d.index] ??= { function: { name: '', arguments: '' } })
      if (d.id) call.id = d.id
      if (d.type) call.type = d.type
      call.function.name += d.function?.name ?? ''
      call.function.arguments += d.function?.arguments ?? ''
    }
  }
  return { chunks, calls }
}

describe.each(backends)('tools, JSON output and embeddings through the simulated provider ($name)', (backend) => {
  let t: TestApp
  let client: OpenAI
  beforeAll(async () => {
    t = await createTestApp(backend, { env: FAST_SIM })
    client = await clientFor(t)
  })
  afterAll(async () => t?.close())
  const ask = { role: 'user' as const, content: 'What will the weather be? Call get_weather.' }

  it('answers with a tool call whose arguments fit the schema, the same streamed (deltas assembled) as not', async () => {
    const plain = await client.chat.completions.create({ model: 'm', messages: [ask], tools: [weather] })
    const choice = plain.choices[0]!
    expect(choice.finish_reason).toBe('tool_calls')
    expect(choice.message.content).toBeNull()
    const call = choice.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall
    expect(call.function.name).toBe('get_weather')
    expect(ajv.validate(weather.function.parameters!, JSON.parse(call.function.arguments))).toBe(true)

    const stream = await client.chat.completions.create(
      { model: 'm', messages: [ask], tools: [weather], stream: true, stream_options: { include_usage: true } },
      { headers: { 'cache-control': 'no-cache' } },
    )
    const { chunks, calls } = await collect(stream)
    expect(chunks.filter((c) => c.choices[0]?.delta.tool_calls).length).toBeGreaterThan(2)
    expect(calls).toEqual(choice.message.tool_calls)
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('tool_calls')
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: expect.any(Number) } })
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true)
  })

  it('answers in text once the tool result comes back (round trip)', async () => {
    const first = await client.chat.completions.create({ model: 'm', messages: [ask], tools: [weather] })
    const assistant = first.choices[0]!.message
    const call = assistant.tool_calls![0]!
    const reply = await client.chat.completions.create({
      model: 'm',
      tools: [weather],
      messages: [ask, assistant, { role: 'tool', tool_call_id: call.id, content: '{"temp": 21}' }],
    })
    expect(reply.choices[0]!.finish_reason).toBe('stop')
    expect(reply.choices[0]!.message.content).toMatch(/Simulated reply/)
  })

  it('answers JSON that validates against a json_schema, and a JSON object for json_object', async () => {
    const schema = {
      type: 'object',
      properties: { title: { type: 'string' }, tags: { type: 'array', items: { type: 'string' }, minItems: 2 } },
      required: ['title', 'tags'],
      additionalProperties: false,
    }
    const out = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'Summarize the release.' }],
      response_format: { type: 'json_schema', json_schema: { name: 'summary', schema, strict: true } },
    })
    expect(ajv.validate(schema, JSON.parse(out.choices[0]!.message.content!))).toBe(true)
    const obj = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'Summarize the release.' }],
      response_format: { type: 'json_object' },
    })
    expect(typeof JSON.parse(obj.choices[0]!.message.content!)).toBe('object')
  })

  it('answers n > 1 choices, caches them and replays them whole', async () => {
    const body = { model: 'm', messages: [{ role: 'user' as const, content: 'Three options please' }], n: 3 }
    const first = await client.chat.completions.create(body).withResponse()
    expect(first.data.choices.map((c) => c.index)).toEqual([0, 1, 2])
    expect(new Set(first.data.choices.map((c) => c.message.content)).size).toBe(3)
    const again = await client.chat.completions.create(body).withResponse()
    expect(again.response.headers.get('x-cache')).toBe('HIT')
    expect(again.data.choices).toEqual(first.data.choices)
    const single = await client.chat.completions.create({ ...body, n: 1 }).withResponse()
    expect(single.response.headers.get('x-cache')).toBe('MISS')
  })

  it('keys the cache on tools, tool_choice, response_format and content parts', async () => {
    const base = { model: 'm', messages: [{ role: 'user' as const, content: 'Key me get_weather' }] }
    const key = async (extra: Record<string, unknown>) =>
      (await client.chat.completions.create({ ...base, ...extra }).withResponse()).response.headers.get('x-cache-key')
    const keys = [
      await key({}),
      await key({ tools: [weather] }),
      await key({ tools: [weather], tool_choice: 'none' }),
      await key({ response_format: { type: 'json_object' } }),
      await key({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Key me get_weather' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
            ],
          },
        ],
      }),
      await key({ seed: 3 }),
    ]
    expect(new Set(keys).size).toBe(keys.length)
    expect(await key({ user: 'someone', metadata: { a: 'b' } })).toBe(keys[0])
  })

  it('gives deterministic embeddings of the text (floats and base64)', async () => {
    const res = await client.embeddings.create({
      model: 'm',
      input: ['the cache warms', 'the cache warms', 'other words'],
    })
    expect(res.data).toHaveLength(3)
    const [a, b, c] = res.data.map((d) => d.embedding)
    expect(a).toHaveLength(256)
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
    expect(Math.hypot(...a!)).toBeCloseTo(1, 5)
    const floats = await client.embeddings.create({
      model: 'm',
      input: 'the cache warms',
      encoding_format: 'float',
      dimensions: 16,
    })
    expect(floats.data[0]!.embedding).toHaveLength(16)
    await expect(client.embeddings.create({ model: 'm', input: '' })).rejects.toMatchObject({
      status: 400,
      param: 'input',
    })
  })
})

describe.each(backends)('the OpenAI API forwarded to a recording upstream ($name)', (backend) => {
  let upstream: FakeUpstream
  let t: TestApp
  let client: OpenAI
  beforeAll(async () => {
    upstream = await startFakeUpstream()
    t = await createTestApp(backend, {
      env: { CHAT_PROVIDER: 'openai', OPENAI_BASE_URL: upstream.url, OPENAI_MODEL: 'fake-model' },
    })
    client = await clientFor(t)
  })
  afterAll(async () => {
    await t?.close()
    await upstream?.close()
  })
  beforeEach(() => upstream.reset())

  it('forwards image and audio content parts byte for byte, and every field, known or not', async () => {
    const image = `data:image/png;base64,${Buffer.from('\u0000\u00ff png bytes / "quoted" é').toString('base64')}`
    const messages = [
      { role: 'system', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in it?' },
          { type: 'image_url', image_url: { url: image, detail: 'high' } },
          { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    ]
    const fields = {
      tools: [weather],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
      response_format: { type: 'json_object' },
      logprobs: true,
      top_logprobs: 2,
      n: 2,
      user: 'u-1',
      seed: 7,
      stop: ['END'],
      max_completion_tokens: 50,
      reasoning_effort: 'low',
      metadata: { team: 'a' },
      store: false,
      a_field_from_the_future: { nested: [1, 'two'] },
    }
    await client.chat.completions.create({ model: 'gpt-x', messages, ...fields } as never)
    const sent = upstream.requests.at(-1)!
    expect(sent.messages).toEqual(messages)
    expect(upstream.rawBodies.at(-1)).toContain(JSON.stringify(image))
    for (const [name, value] of Object.entries(fields)) expect(sent[name], name).toEqual(value)
    expect(sent).not.toHaveProperty('max_tokens')
    expect(sent).toMatchObject({ model: 'gpt-x', stream: true })
  })

  it('relays tool-call, logprobs and reasoning deltas as they come, and replays them chunk for chunk from the cache', async () => {
    const logprobs = { content: [{ token: 'x', logprob: -0.1, bytes: [120], top_logprobs: [] }], refusal: null }
    upstream.streamChunks = [
      { choices: [{ index: 0, delta: { role: 'assistant', content: null }, finish_reason: null }] },
      { choices: [{ index: 0, delta: { reasoning_content: 'Think ' }, finish_reason: null }] },
      { choices: [{ index: 0, delta: { reasoning_content: 'harder.' }, finish_reason: null }] },
      {
        choices: [
          {
            index: 0,
            delta: {
              tool_calls: [
                { index: 0, id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '' } },
              ],
            },
            finish_reason: null,
          },
        ],
      },
      {
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
            logprobs,
            finish_reason: null,
          },
        ],
      },
      {
        choices: [
          { index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }, finish_reason: null },
        ],
      },
      { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
      {
        choices: [],
        usage: {
          prompt_tokens: 9,
          completion_tokens: 4,
          total_tokens: 13,
          prompt_tokens_details: { cached_tokens: 2 },
          completion_tokens_details: { reasoning_tokens: 3 },
        },
      },
    ]
    const body = {
      model: 'fake-model',
      messages: [{ role: 'user' as const, content: 'Oslo weather get_weather' }],
      tools: [weather],
    }
    const run = async () => {
      const { data, response } = await client.chat.completions
        .create({ ...body, stream: true, stream_options: { include_usage: true } })
        .withResponse()
      const { chunks, calls } = await collect(data)
      return {
        cache: response.headers.get('x-cache'),
        chunks: chunks.map((c) => ({ choices: c.choices, usage: c.usage })),
        calls,
      }
    }
    const callsBefore = upstream.completionCalls
    const miss = await run()
    const hit = await run()
    expect([miss.cache, hit.cache]).toEqual(['MISS', 'HIT'])
    expect(upstream.completionCalls).toBe(callsBefore + 1)
    expect(hit.chunks).toEqual(miss.chunks)
    const relayed = miss.chunks.slice(1, -1).map((c) => c.choices)
    expect(relayed).toEqual(
      upstream.streamChunks
        .slice(1, -1)
        .map((c) => (c.choices as unknown[]).map((ch) => ({ logprobs: undefined, ...(ch as object) })))
        .map((cs) => cs.map(stripUndefined)),
    )
    expect(miss.calls).toEqual([
      { id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
    ])
    expect(miss.chunks.at(-1)!.usage).toMatchObject({
      prompt_tokens_details: { cached_tokens: 2 },
      completion_tokens_details: { reasoning_tokens: 3 },
    })

    const plain = await client.chat.completions.create(body).withResponse()
    expect(plain.response.headers.get('x-cache')).toBe('HIT')
    expect(plain.data.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      logprobs,
      message: { content: null, refusal: null, reasoning_content: 'Think harder.', tool_calls: miss.calls },
    })
    expect(plain.data.usage).toMatchObject({ completion_tokens_details: { reasoning_tokens: 3 } })
  })

  it('forwards embeddings to the upstream’s /embeddings', async () => {
    const res = await client.embeddings.create({ model: 'embed-1', input: ['hello', 'hi'], dimensions: 3, user: 'u' })
    expect(upstream.embeddingRequests.at(-1)).toEqual({
      model: 'embed-1',
      input: ['hello', 'hi'],
      dimensions: 3,
      user: 'u',
      encoding_format: 'base64',
    })
    expect(res.model).toBe('embed-1-embed')
    expect(res.data.map((d) => d.embedding)).toEqual([
      [5, 0, 0.5],
      [2, 1, 0.5],
    ])
  })
})

function stripUndefined(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value))
}
