import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, createTestApp, createToken, type TestApp } from '../../helpers/app.js'
import { FAST_SIM, newConversation } from '../../helpers/chat.js'
import { runThroughApi } from '../../helpers/jobs.js'
import { uniqueName } from '../../helpers/store.js'

/**
 * Tenancy: every session, conversation and message belongs to the scope of the token that
 * made it (its project, else the token). Another scope's id answers exactly as a missing one.
 */
describe.each(backends)('chat tenancy ($name)', (backend) => {
  let t: TestApp
  /** A (project alpha), A2 (another token of alpha), B (no project), C (project beta). */
  let a: string, a2: string, b: string, c: string
  let bId: string
  let own: { sessionId: string; conversationId: string }
  const missing = '00000000-0000-4000-8000-000000000000'

  beforeAll(async () => {
    t = await createTestApp(backend, { env: FAST_SIM })
    a = (await createToken(t, 'chat', 'a', { project: 'alpha' })).secret
    a2 = (await createToken(t, 'chat', 'a2', { project: 'alpha' })).secret
    const tokenB = await createToken(t, 'chat', 'b')
    b = tokenB.secret
    bId = tokenB.token.id
    c = (await createToken(t, 'chat', 'c', { project: 'beta' })).secret
    own = await newConversation(t, { title: 'alpha’s' }, a)
    const post = await t.request(
      'POST',
      `/api/conversations/${own.conversationId}/messages`,
      { content: 'secret plan' },
      { token: a },
    )
    expect(post.statusCode).toBe(201)
  })
  afterAll(async () => t?.close())

  const as = (token: string) => ({
    get: (url: string) => t.request('GET', url, undefined, { token }),
    post: (url: string, body: unknown = {}) => t.request('POST', url, body, { token }),
    patch: (url: string, body: unknown) => t.request('PATCH', url, body, { token }),
    delete: (url: string) => t.request('DELETE', url, undefined, { token }),
  })

  it('answers another scope’s ids exactly as missing ones, on every chat route', async () => {
    const routes = (id: string, sessionId: string) =>
      [
        ['GET', `/api/conversations/${id}`],
        ['PATCH', `/api/conversations/${id}`, { title: 'taken' }],
        ['GET', `/api/conversations/${id}/messages`],
        ['POST', `/api/conversations/${id}/messages`, { content: 'hi' }],
        ['POST', `/api/conversations/${id}/messages/batch`, { messages: [{ role: 'user', content: 'x' }] }],
        ['GET', `/api/conversations?session_id=${sessionId}`],
        ['POST', '/api/conversations', { session_id: sessionId }],
        ['DELETE', `/api/conversations/${id}`],
      ] as const
    for (const token of [b, c]) {
      const theirs = routes(own.conversationId, own.sessionId)
      const none = routes(missing, missing)
      for (const [i, [method, url, body]] of theirs.entries()) {
        const res = await t.request(method, url, body, { token })
        const ref = await t.request(none[i]![0], none[i]![1], none[i]![2], { token })
        expect({ route: `${method} ${url}`, status: res.statusCode }).toEqual({
          route: `${method} ${url}`,
          status: 404,
        })
        // The same answer as for a missing id: nothing tells the caller that the id exists.
        expect(res.json().error.code).toBe(ref.json().error.code)
        expect(res.json().error.message.replace(/[0-9a-f-]{36}/, 'ID')).toBe(
          ref.json().error.message.replace(/[0-9a-f-]{36}/, 'ID'),
        )
      }
    }
    // Nothing changed: A still reads its conversation, title and messages intact.
    const read = await as(a).get(`/api/conversations/${own.conversationId}`)
    expect(read.statusCode).toBe(200)
    expect(read.json().conversation.title).toBe('alpha’s')
    const messages = await as(a).get(`/api/conversations/${own.conversationId}/messages`)
    expect(messages.json().messages.map((m: { content: string }) => m.content)).toContain('secret plan')
    expect(messages.json().messages).toHaveLength(2)
  })

  it('lists only the caller’s scope', async () => {
    const theirs = await newConversation(t, { title: 'b’s' }, b)
    const listB = await as(b).get('/api/conversations')
    expect(listB.statusCode).toBe(200)
    expect(listB.json().conversations.map((x: { id: string }) => x.id)).toEqual([theirs.conversationId])
    const listA = await as(a).get('/api/conversations')
    const idsA = listA.json().conversations.map((x: { id: string }) => x.id)
    expect(idsA).toContain(own.conversationId)
    expect(idsA).not.toContain(theirs.conversationId)
    // A non-admin cannot widen its view with a filter.
    const widen = await as(b).get('/api/conversations?scope=project:alpha')
    expect(widen.statusCode).toBe(403)
  })

  it('shares the data of one project between its tokens', async () => {
    const mine = await newConversation(t, { title: 'by a2' }, a2)
    const read = await as(a).get(`/api/conversations/${mine.conversationId}`)
    expect(read.statusCode).toBe(200)
    expect((await as(a2).get(`/api/conversations/${own.conversationId}/messages`)).statusCode).toBe(200)
    expect((await as(a).patch(`/api/conversations/${mine.conversationId}`, { title: 'renamed by a' })).statusCode).toBe(
      200,
    )
    const list = await as(a2).get(`/api/conversations?session_id=${own.sessionId}`)
    expect(list.json().conversations.map((x: { id: string }) => x.id)).toEqual([own.conversationId])
    expect(read.json().conversation.scope).toBe('project:alpha')
  })

  it('lets an admin see every scope and filter by one', async () => {
    const theirs = await newConversation(t, { title: 'b’s second' }, b)
    expect((await t.request('GET', `/api/conversations/${own.conversationId}`)).statusCode).toBe(200)
    expect((await t.request('GET', `/api/conversations/${theirs.conversationId}/messages`)).statusCode).toBe(200)
    const all = (await t.request('GET', '/api/conversations?limit=100'))
      .json()
      .conversations.map((x: { id: string }) => x.id)
    expect(all).toEqual(expect.arrayContaining([own.conversationId, theirs.conversationId]))
    const alpha = await t.request('GET', '/api/conversations?limit=100&scope=project:alpha')
    expect(alpha.statusCode).toBe(200)
    const alphaScopes = new Set(alpha.json().conversations.map((x: { scope: string }) => x.scope))
    expect([...alphaScopes]).toEqual(['project:alpha'])
    const ofB = (await t.request('GET', `/api/conversations?limit=100&scope=token:${bId}`)).json().conversations
    expect(ofB.map((x: { id: string }) => x.id)).toContain(theirs.conversationId)
    expect(ofB.map((x: { id: string }) => x.id)).not.toContain(own.conversationId)
  })

  it('leaves data from before tenancy (scope null) to admins', async () => {
    const session = await t.app.db
      .insertInto('sessions')
      .values({ metadata: '{}', scope: null })
      .returning('id')
      .executeTakeFirstOrThrow()
    const legacy = await t.app.db
      .insertInto('conversations')
      .values({ session_id: session.id, metadata: '{}', scope: null })
      .returning('id')
      .executeTakeFirstOrThrow()
    for (const token of [a, b]) {
      expect((await as(token).get(`/api/conversations/${legacy.id}`)).statusCode).toBe(404)
      expect((await as(token).get(`/api/conversations?session_id=${session.id}`)).statusCode).toBe(404)
    }
    const read = await t.request('GET', `/api/conversations/${legacy.id}`)
    expect(read.statusCode).toBe(200)
    expect(read.json().conversation.scope).toBeNull()
    // An admin's message in it goes through the admin's own cache scope.
    expect((await t.request('POST', `/api/conversations/${legacy.id}/messages`, { content: 'old' })).statusCode).toBe(
      201,
    )
  })

  it('keeps a deleted conversation deleted only for its own scope', async () => {
    const mine = await newConversation(t, {}, a)
    expect((await as(b).delete(`/api/conversations/${mine.conversationId}`)).statusCode).toBe(404)
    expect((await as(a2).delete(`/api/conversations/${mine.conversationId}`)).statusCode).toBe(204)
    expect((await as(a).get(`/api/conversations/${mine.conversationId}`)).statusCode).toBe(404)
  })
})

describe.each(backends)('response cache scope ($name)', (backend) => {
  describe('by default', () => {
    let t: TestApp
    beforeAll(async () => {
      t = await createTestApp(backend, { env: FAST_SIM })
    })
    afterAll(async () => t?.close())

    it('never shares an entry between scopes; tokens of one project share', async () => {
      const a = (await createToken(t, 'chat', 'a', { project: 'alpha' })).secret
      const a2 = (await createToken(t, 'chat', 'a2', { project: 'alpha' })).secret
      const b = (await createToken(t, 'chat', 'b')).secret
      const prompt = `what did alpha ask ${uniqueName('q')}`
      expect((await t.chat(prompt, {}, { token: a })).headers['x-cache']).toBe('MISS')
      expect((await t.chat(prompt, {}, { token: a })).headers['x-cache']).toBe('HIT')
      expect((await t.chat(prompt, {}, { token: b })).headers['x-cache']).toBe('MISS')
      expect((await t.chat(prompt, {}, { token: a2 })).headers['x-cache']).toBe('HIT')
      // The conversation flow uses the same scoped cache.
      const inA = await newConversation(t, {}, a)
      const inB = await newConversation(t, {}, b)
      const word = uniqueName('w')
      const first = await t.request(
        'POST',
        `/api/conversations/${inA.conversationId}/messages`,
        { content: word },
        { token: a },
      )
      expect(first.headers['x-cache']).toBe('MISS')
      const other = await t.request(
        'POST',
        `/api/conversations/${inB.conversationId}/messages`,
        { content: word },
        { token: b },
      )
      expect(other.headers['x-cache']).toBe('MISS')
    })

    it('warms per scope: a warmed reply is a hit for its own scope only', async () => {
      const a = (await createToken(t, 'chat', 'wa', { project: 'warm-a' })).secret
      const b = (await createToken(t, 'chat', 'wb')).secret
      const prompt = `warm me ${uniqueName('p')}`
      expect((await t.chat(prompt, {}, { token: a })).headers['x-cache']).toBe('MISS')
      // Its entry goes away; the job recomputes it from the analytics event, in A's scope.
      await t.app.cache.clear({ namespace: 'ai_response' })
      const warm = await runThroughApi(t, 'cache-warm')
      expect(warm.status).toBe('success')
      expect(warm.output).toMatchObject({ replies: { failed: 0 } })
      expect((warm.output!.replies as { warmed: number }).warmed).toBeGreaterThanOrEqual(1)
      expect((await t.chat(prompt, {}, { token: b })).headers['x-cache']).toBe('MISS')
      expect((await t.chat(prompt, {}, { token: a })).headers['x-cache']).toBe('HIT')
    })
  })

  describe('with CACHE_SCOPE=global', () => {
    let t: TestApp
    beforeAll(async () => {
      t = await createTestApp(backend, { env: { ...FAST_SIM, CACHE_SCOPE: 'global' } })
    })
    afterAll(async () => t?.close())

    it('shares one cache between scopes', async () => {
      const a = (await createToken(t, 'chat', 'a', { project: 'alpha' })).secret
      const b = (await createToken(t, 'chat', 'b')).secret
      const prompt = `shared ${uniqueName('q')}`
      expect((await t.chat(prompt, {}, { token: a })).headers['x-cache']).toBe('MISS')
      expect((await t.chat(prompt, {}, { token: b })).headers['x-cache']).toBe('HIT')
    })
  })
})
