import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, createTestApp, type TestApp, createToken } from '../../helpers/app.js'
import { FAST_SIM, newConversation, parseSse } from '../../helpers/chat.js'

const MAX_CHARS = 200

describe.each(backends)('conversation API ($name)', (backend) => {
  let t: TestApp
  let chatToken: string
  let viewerToken: string
  beforeAll(async () => {
    t = await createTestApp(backend, { env: { ...FAST_SIM, CHAT_MAX_CONTENT_CHARS: String(MAX_CHARS) } })
    chatToken = (await createToken(t, 'chat')).secret
    viewerToken = (await createToken(t, 'viewer')).secret
  })
  afterAll(async () => t?.close())

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, token = chatToken) =>
    t.app.inject({
      method,
      url,
      headers: t.auth(token),
      ...(payload === undefined ? {} : { payload: payload as object }),
    })

  it('creates sessions and conversations, and 404s on unknown ids', async () => {
    const session = await call('POST', '/api/sessions', { user_ref: 'user-1', metadata: { plan: 'free' } })
    expect(session.statusCode).toBe(201)
    expect(session.json().session).toMatchObject({ user_ref: 'user-1', metadata: { plan: 'free' } })
    expect((await call('POST', '/api/sessions')).statusCode).toBe(201)

    const created = await call('POST', '/api/conversations', {
      session_id: session.json().session.id,
      title: 'First',
      model: 'whatever',
    })
    expect(created.statusCode).toBe(201)
    const conversation = created.json().conversation
    expect(conversation).toMatchObject({ title: 'First', model: 'whatever', session_id: session.json().session.id })

    const missing = '00000000-0000-4000-8000-000000000000'
    expect((await call('POST', '/api/conversations', { session_id: missing })).statusCode).toBe(404)
    expect((await call('GET', `/api/conversations/${missing}`)).statusCode).toBe(404)
    expect((await call('PATCH', `/api/conversations/${missing}`, { title: 'x' })).statusCode).toBe(404)
    expect((await call('DELETE', `/api/conversations/${missing}`)).statusCode).toBe(404)
    expect((await call('GET', `/api/conversations/${missing}/messages`)).statusCode).toBe(404)
    expect((await call('POST', `/api/conversations/${missing}/messages`, { content: 'hi' })).statusCode).toBe(404)
    expect((await call('GET', `/api/conversations?session_id=${missing}`)).statusCode).toBe(404)
    expect((await call('GET', '/api/conversations/not-a-uuid')).statusCode).toBe(400)
  })

  it('reads, renames and deletes a conversation', async () => {
    const { conversationId } = await newConversation(t, {}, chatToken)
    const renamed = await call('PATCH', `/api/conversations/${conversationId}`, {
      title: 'Renamed',
      metadata: { tag: 'a' },
    })
    expect(renamed.statusCode).toBe(200)
    expect(renamed.json().conversation).toMatchObject({ title: 'Renamed', metadata: { tag: 'a' } })
    expect((await call('GET', `/api/conversations/${conversationId}`)).json().conversation.title).toBe('Renamed')
    expect((await call('PATCH', `/api/conversations/${conversationId}`, {})).statusCode).toBe(400)
    expect((await call('DELETE', `/api/conversations/${conversationId}`)).statusCode).toBe(204)
    expect((await call('GET', `/api/conversations/${conversationId}`)).statusCode).toBe(404)
  })

  it('lists a session’s conversations most recently active first, page by page', async () => {
    const { sessionId } = await newConversation(t, {}, chatToken)
    for (let i = 0; i < 4; i++) await call('POST', '/api/conversations', { session_id: sessionId, title: `c${i}` })
    const all = (await call('GET', `/api/conversations?session_id=${sessionId}&limit=100`)).json().conversations
    expect(all).toHaveLength(5)
    // Activity moves a conversation to the top.
    const oldest = all.at(-1).id
    await call('POST', `/api/conversations/${oldest}/messages`, { content: 'wake up' })

    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page = await call(
        'GET',
        `/api/conversations?session_id=${sessionId}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      )
      expect(page.statusCode).toBe(200)
      seen.push(...page.json().conversations.map((c: { id: string }) => c.id))
      cursor = page.json().next_cursor
    } while (cursor)
    expect(seen).toHaveLength(5)
    expect(new Set(seen).size).toBe(5)
    expect(seen[0]).toBe(oldest)

    expect((await call('GET', `/api/conversations?session_id=${sessionId}&cursor=bogus`)).statusCode).toBe(400)
    expect((await call('GET', `/api/conversations?session_id=${sessionId}&limit=101`)).statusCode).toBe(400)
    // Without a session: all of the caller's conversations, these among them.
    const mine = await call('GET', '/api/conversations?limit=100')
    expect(mine.statusCode).toBe(200)
    expect(mine.json().conversations.map((c: { id: string }) => c.id)).toEqual(expect.arrayContaining(seen))
  })

  it('answers a message, stores both with model, tokens, latency and the cached flag, and caches the reply', async () => {
    const first = await newConversation(t, {}, chatToken)
    const res = await call('POST', `/api/conversations/${first.conversationId}/messages`, {
      content: 'What is a tiered cache?',
    })
    expect(res.statusCode).toBe(201)
    expect(res.headers['x-cache']).toBe('MISS')
    expect(res.headers['x-cache-key']).toMatch(new RegExp(`^${t.config.cachePrefix}ai_response:[0-9a-f]{64}$`))
    const body = res.json()
    expect(body.message).toMatchObject({ role: 'user', content: 'What is a tiered cache?' })
    expect(body.reply).toMatchObject({ role: 'assistant', model: 'simulated-no-llm', cached: false })
    expect(body.reply.content).toContain('What is a tiered cache?')
    expect(body.reply.tokens_input).toBeGreaterThan(0)
    expect(body.reply.tokens_output).toBeGreaterThan(0)
    expect(body.reply.latency_ms).toBeGreaterThanOrEqual(0)
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens)

    // The same opening message in another conversation has the same history: a HIT.
    const second = await newConversation(t, {}, chatToken)
    const again = await call('POST', `/api/conversations/${second.conversationId}/messages`, {
      content: '  What is a   tiered cache? ',
    })
    expect(again.headers['x-cache']).toBe('HIT')
    expect(again.headers['x-cache-key']).toBe(res.headers['x-cache-key'])
    expect(again.json().reply).toMatchObject({ cached: true, content: body.reply.content })

    // A follow-up carries the history, so it is a different prompt.
    const followUp = await call('POST', `/api/conversations/${first.conversationId}/messages`, {
      content: 'What is a tiered cache?',
    })
    expect(followUp.headers['x-cache']).toBe('MISS')

    const listed = (await call('GET', `/api/conversations/${first.conversationId}/messages`)).json().messages
    expect(listed.map((m: { role: string }) => m.role)).toEqual(['assistant', 'user', 'assistant', 'user'])
  })

  it('honours per-request cache control: no-cache, no-store, ttl', async () => {
    const post = async (payload: Record<string, unknown>, headers: Record<string, string> = {}) => {
      const { conversationId } = await newConversation(t, {}, chatToken)
      return t.app.inject({
        method: 'POST',
        url: `/api/conversations/${conversationId}/messages`,
        headers: { ...t.auth(chatToken), ...headers },
        payload,
      })
    }
    expect((await post({ content: 'never stored', cache: { 'no-store': true } })).headers['x-cache']).toBe('MISS')
    expect((await post({ content: 'never stored' })).headers['x-cache']).toBe('MISS')
    expect((await post({ content: 'never stored' })).headers['x-cache']).toBe('HIT')
    expect((await post({ content: 'never stored' }, { 'cache-control': 'no-cache' })).headers['x-cache']).toBe('MISS')
    expect((await post({ content: 'never stored', cache: { 'no-cache': true } })).headers['x-cache']).toBe('MISS')
    expect((await post({ content: 'header no-store' }, { 'cache-control': 'no-store' })).headers['x-cache']).toBe(
      'MISS',
    )
    expect((await post({ content: 'header no-store' })).headers['x-cache']).toBe('MISS')
    expect((await post({ content: 'x', cache: { ttl: 0 } })).statusCode).toBe(400)
    expect((await post({ content: 'x', cache: { unknown: true } })).statusCode).toBe(400)
  })

  it('streams a reply as token events, then complete; a cached reply streams the same way', async () => {
    const streamOnce = async () => {
      const { conversationId } = await newConversation(t, {}, chatToken)
      const res = await call('POST', `/api/conversations/${conversationId}/messages`, {
        content: 'Stream me a story',
        stream: true,
      })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
      const events = parseSse(res.body)
      const tokens = events.filter((e) => e.event === 'token').map((e) => JSON.parse(e.data).text as string)
      const complete = events.at(-1)!
      expect(complete.event).toBe('complete')
      const done = JSON.parse(complete.data)
      const stored = (await call('GET', `/api/conversations/${conversationId}/messages?limit=1`)).json().messages[0]
      expect(stored.id).toBe(done.message_id)
      expect(stored.content).toBe(tokens.join(''))
      return { res, tokens, done }
    }
    const miss = await streamOnce()
    expect(miss.res.headers['x-cache']).toBe('MISS')
    expect(miss.done.cached).toBe(false)
    expect(miss.tokens.length).toBeGreaterThan(5)
    const hit = await streamOnce()
    expect(hit.res.headers['x-cache']).toBe('HIT')
    expect(hit.done).toMatchObject({ cached: true, usage: miss.done.usage })
    expect(hit.tokens.join('')).toBe(miss.tokens.join(''))
  })

  it('is not compressed when streaming, even when the client accepts gzip', async () => {
    const { conversationId } = await newConversation(t, {}, chatToken)
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/conversations/${conversationId}/messages`,
      headers: { ...t.auth(chatToken), 'accept-encoding': 'gzip' },
      payload: { content: 'x'.repeat(150), stream: true },
    })
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.headers['x-accel-buffering']).toBe('no')
  })

  it('pages through messages newest first with a keyset on id', async () => {
    const { conversationId } = await newConversation(t, {}, chatToken)
    const messages = Array.from({ length: 250 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `message ${i}`,
    }))
    const imported = await call('POST', `/api/conversations/${conversationId}/messages/batch`, { messages })
    expect(imported.statusCode).toBe(201)
    expect(imported.json().inserted).toBe(250)

    const ids: number[] = []
    const sizes: number[] = []
    let before: string | null = null
    do {
      const page = await call(
        'GET',
        `/api/conversations/${conversationId}/messages?limit=100${before ? `&before=${before}` : ''}`,
      )
      const rows = page.json().messages as Array<{ id: string; content: string }>
      sizes.push(rows.length)
      ids.push(...rows.map((m) => Number(m.id)))
      before = page.json().next_before
    } while (before)
    expect(sizes).toEqual([100, 100, 50])
    expect(ids).toEqual([...ids].sort((a, b) => b - a))
    expect(new Set(ids).size).toBe(250)
    expect(Number(imported.json().last_id) - Number(imported.json().first_id)).toBe(249)
    expect((await call('GET', `/api/conversations/${conversationId}/messages?limit=101`)).statusCode).toBe(400)
    expect((await call('GET', `/api/conversations/${conversationId}/messages?before=abc`)).statusCode).toBe(400)
  })

  it('imports at most 1,000 messages per batch and validates each', async () => {
    const { conversationId } = await newConversation(t, {}, chatToken)
    const url = `/api/conversations/${conversationId}/messages/batch`
    const ok = await call('POST', url, {
      messages: Array.from({ length: 1000 }, () => ({ role: 'user', content: 'x' })),
    })
    expect(ok.statusCode).toBe(201)
    expect(ok.json().inserted).toBe(1000)
    expect(
      (await call('POST', url, { messages: Array.from({ length: 1001 }, () => ({ role: 'user', content: 'x' })) }))
        .statusCode,
    ).toBe(400)
    expect((await call('POST', url, { messages: [{ role: 'tool', content: 'x' }] })).statusCode).toBe(400)
    expect(
      (await call('POST', url, { messages: [{ role: 'user', content: 'x'.repeat(MAX_CHARS + 1) }] })).statusCode,
    ).toBe(400)
    expect((await call('POST', url, { messages: [] })).statusCode).toBe(400)
  })

  it('rejects bad input with a 4xx and a message, never a 500', async () => {
    const { conversationId } = await newConversation(t, {}, chatToken)
    const url = `/api/conversations/${conversationId}/messages`
    const tooLong = await call('POST', url, { content: 'x'.repeat(MAX_CHARS + 1) })
    expect(tooLong.statusCode).toBe(400)
    expect(tooLong.json().error.message).toMatch(/content/)
    const malformed = await t.app.inject({
      method: 'POST',
      url,
      headers: { ...t.auth(chatToken), 'content-type': 'application/json' },
      payload: '{"content": ',
    })
    expect(malformed.statusCode).toBe(400)
    expect(malformed.json().error.code).toBe('invalid_json')
    expect((await call('POST', url, { content: 'hi', role: 'system' })).statusCode).toBe(400)
    expect((await call('POST', url, { content: '' })).statusCode).toBe(400)

    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (payload) => {
        const res = await t.app.inject({
          method: 'POST',
          url,
          headers: { ...t.auth(chatToken), 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        })
        expect(res.statusCode).toBeLessThan(500)
      }),
      { numRuns: 40 },
    )
  })

  it('lets chat and admin tokens in, keeps viewers and strangers out', async () => {
    expect((await call('POST', '/api/sessions', {}, viewerToken)).statusCode).toBe(403)
    expect((await call('POST', '/api/sessions', {}, t.adminToken)).statusCode).toBe(201)
    expect((await t.app.inject({ method: 'POST', url: '/api/sessions', payload: {} })).statusCode).toBe(401)
    expect((await call('GET', '/api/db/stats', undefined, chatToken)).statusCode).toBe(403)
  })

  it('counts the chat tables and measures the database for viewers', async () => {
    const res = await call('GET', '/api/db/stats', undefined, viewerToken)
    expect(res.statusCode).toBe(200)
    const stats = res.json()
    expect(stats.sessions).toBeGreaterThan(0)
    expect(stats.conversations).toBeGreaterThan(0)
    expect(stats.messages).toBeGreaterThan(1000)
    expect(stats.analytics_events).toBeGreaterThan(0)
    expect(stats.database_bytes).toBeGreaterThan(0)
    expect(stats.schema_bytes).toBeGreaterThan(0)
    expect(typeof stats.database_size).toBe('string')
  })
})
