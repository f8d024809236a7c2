import { describe, expect, it } from 'vitest'
import { backends, useTestApp } from '../helpers/app.js'
import { newConversation } from '../helpers/chat.js'

/**
 * Free-form JSON fields (metadata, the extra fields OpenAI clients send) are at most 8 levels
 * deep and 16 KB as JSON: deeper or bigger is a 400 naming the field, never a 500 (a value
 * 5,000 levels deep used to overflow the stack in JSON.stringify). Bodies are built as text:
 * JSON.stringify here would overflow too.
 */
const nested = (levels: number, leaf = '1') => '{"a":'.repeat(levels) + leaf + '}'.repeat(levels)
const nestedArrays = (levels: number) => '['.repeat(levels) + ']'.repeat(levels)
/** An object with `count` distinct short keys (100k of them is ~0.9 MB, under the 1 MiB body limit). */
const wide = (count: number) => `{${Array.from({ length: count }, (_, i) => `"${i.toString(36)}":0`).join(',')}}`

describe.each(backends)('limits on free-form JSON ($name)', (backend) => {
  const t = useTestApp(backend, { captureLogs: true, env: { SIM_FIRST_TOKEN_MS: '0' } })
  const post = (url: string, body: string, method: 'POST' | 'PATCH' = 'POST') =>
    t.request(method, url, body, { headers: { 'content-type': 'application/json' } })

  /** Each free-form field, as a function of the raw JSON text of its value. */
  const fields: Array<{
    name: string
    field: string
    send: (value: string) => Promise<{ statusCode: number; body: string }>
    /** The error code when not ours (/v1 speaks OpenAI's). */
    code?: string
  }> = [
    { name: 'session metadata', field: 'body/metadata', send: (v) => post('/api/sessions', `{"metadata":${v}}`) },
    {
      name: 'conversation metadata (create)',
      field: 'body/metadata',
      send: async (v) => {
        const session = (await t.request('POST', '/api/sessions', {})).json().session.id
        return post('/api/conversations', `{"session_id":"${session}","metadata":${v}}`)
      },
    },
    {
      name: 'conversation metadata (update)',
      field: 'body/metadata',
      send: async (v) => {
        const { conversationId } = await newConversation(t)
        return post(`/api/conversations/${conversationId}`, `{"metadata":${v}}`, 'PATCH')
      },
    },
    {
      name: 'an extra field of a chat completion request (OpenAI metadata)',
      field: 'body/metadata',
      code: 'invalid_request_error',
      send: (v) => post('/v1/chat/completions', `{"messages":[{"role":"user","content":"hi"}],"metadata":${v}}`),
    },
    {
      name: 'an extra field of a chat completion message',
      field: 'body/messages/0/extra',
      code: 'invalid_request_error',
      send: (v) => post('/v1/chat/completions', `{"messages":[{"role":"user","content":"hi","extra":${v}}]}`),
    },
  ]

  it.each(fields)('$name: 5,000 levels deep (30 KB) is a 400 naming the field', async ({ field, send, code }) => {
    const res = await send(nested(5_000))
    expect(res.statusCode).toBe(400)
    // /v1 answers in OpenAI's shape (README, "Limits"), /api in ours.
    expect(JSON.parse(res.body).error).toMatchObject({
      code: code ?? 'validation_error',
      message: `${field} is nested deeper than 8 levels`,
    })
    const arrays = await send(`{"a":${nestedArrays(10_000)}}`)
    expect(arrays.statusCode).toBe(400)
    expect(JSON.parse(arrays.body).error.message).toBe(`${field} is nested deeper than 8 levels`)
  })

  it.each(fields)('$name: 8 levels are accepted, 9 are not', async ({ field, send }) => {
    expect((await send(nested(8))).statusCode).toBeLessThan(300)
    const nine = await send(nested(9))
    expect(nine.statusCode).toBe(400)
    expect(JSON.parse(nine.body).error.message).toBe(`${field} is nested deeper than 8 levels`)
  })

  it.each(fields)('$name: more than 16 KB, long or wide, is a 400 naming the field', async ({ field, send }) => {
    expect((await send(`{"text":"${'x'.repeat(16_000)}"}`)).statusCode).toBeLessThan(300)
    const long = await send(`{"text":"${'x'.repeat(16_400)}"}`)
    expect(long.statusCode).toBe(400)
    expect(JSON.parse(long.body).error.message).toBe(`${field} is larger than 16384 bytes as JSON`)
    const multiByte = await send(`{"text":"${'é'.repeat(8_200)}"}`)
    expect(JSON.parse(multiByte.body).error.message).toBe(`${field} is larger than 16384 bytes as JSON`)
    const keys = await send(wide(100_000))
    expect(keys.statusCode).toBe(400)
    expect(JSON.parse(keys.body).error.message).toBe(`${field} is larger than 16384 bytes as JSON`)
  })

  it('keeps metadata within the limits as it was sent', async () => {
    const metadata = JSON.parse(nested(8, '"leaf"'))
    const res = await t.request('POST', '/api/sessions', { metadata })
    expect(res.statusCode).toBe(201)
    expect(res.json().session.metadata).toEqual(metadata)
  })

  it('answers a whole body nested 100,000 levels deep, or 100,000 keys wide, with a 400', async () => {
    for (const [url, body] of [
      ['/api/sessions', nested(100_000)],
      ['/api/sessions', nestedArrays(500_000)],
      ['/api/tokens', `{"name":${nested(100_000)},"role":"viewer"}`],
      ['/v1/chat/completions', `{"messages":${nestedArrays(500_000)}}`],
      ['/v1/chat/completions', `{"messages":[{"role":"user","content":${nestedArrays(500_000)}}]}`],
      ['/api/sessions', wide(100_000)],
      ['/api/tokens', wide(100_000)],
    ] as const) {
      const res = await post(url, body)
      expect(res.statusCode, `${url} ${body.slice(0, 40)}`).toBe(400)
    }
  })

  it('refuses maps of many keys where each key is kept or walked: rule labels, fields of a chat request', async () => {
    const keys = (count: number, value: string) =>
      Array.from({ length: count }, (_, i) => `"k${i.toString(36)}":${value}`).join(',')
    const rule = (map: string) =>
      `{"name":"wide_rule","signal":"http_error_ratio","op":">","threshold":1,"severity":"info",${map}}`
    for (const map of ['labels', 'annotations', 'matchers']) {
      const res = await post('/api/alerts/rules', rule(`"${map}":{${keys(60_000, '"v"')}}`))
      expect(res.statusCode, map).toBe(400)
      expect(JSON.parse(res.body).error.message).toMatch(new RegExp(`body/${map} .*more than 64 properties`))
    }
    const fields = await post(
      '/v1/chat/completions',
      `{"messages":[{"role":"user","content":"hi"}],${keys(80_000, '0')}}`,
    )
    expect(fields.statusCode).toBe(400)
    expect(JSON.parse(fields.body).error.message).toBe('body must NOT have more than 100 properties')
    const messageFields = await post(
      '/v1/chat/completions',
      `{"messages":[{"role":"user","content":"hi",${keys(1_000, '0')}}]}`,
    )
    expect(messageFields.statusCode).toBe(400)
    expect(JSON.parse(messageFields.body).error.message).toBe('body/messages/0 must NOT have more than 32 properties')
  })

  it('answers a rule of 100,000 unknown fields with a short list of problems, not one per field', async () => {
    for (const [method, url, body] of [
      ['POST', '/api/alerts/rules', wide(100_000)],
      ['PUT', '/api/alerts/rules/some_rule', wide(100_000)],
      ['POST', '/api/alerts/rules/preview', `{"rule":${wide(100_000)}}`],
    ] as const) {
      const res = await t.request(method, url, body, { headers: { 'content-type': 'application/json' } })
      expect(res.statusCode).toBe(400)
      expect(res.json().error.details.length, url).toBeLessThanOrEqual(20)
      expect(res.body.length, url).toBeLessThan(10_000)
    }
  })

  it('logged no failure for any of it', () => {
    expect(t.logs.filter((line) => Number(line.level) >= 50)).toEqual([])
  })
})
