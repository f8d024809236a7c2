import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { generateToken } from '../../../server/auth/token-repository.js'
import {
  backends,
  createTestApp,
  createToken,
  dropTestData,
  real,
  uniqueName,
  useInstances,
  type TestApp,
} from '../../helpers/app.js'
import { newConversation, parseSse } from '../../helpers/chat.js'
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js'

const keyed = (key: string) => ({ headers: { 'idempotency-key': key } })
let keys = 0
const newKey = () => `key-${++keys}-${Date.now()}`

/** The conversation's messages, oldest first, as role: content. */
async function transcript(t: TestApp, conversationId: string, token?: string) {
  const res = await t.request('GET', `/api/conversations/${conversationId}/messages?limit=100`, undefined, { token })
  return (res.json().messages as Array<{ role: string; content: string }>)
    .reverse()
    .map((m) => `${m.role}: ${m.content}`)
}

describe.each(backends)('Idempotency-Key on chat posts ($name)', (backend) => {
  let upstream: FakeUpstream
  let t: TestApp
  beforeAll(async () => {
    upstream = await startFakeUpstream()
    t = await createTestApp(backend, {
      env: {
        CHAT_PROVIDER: 'openai',
        OPENAI_BASE_URL: upstream.url,
        OPENAI_MODEL: 'fake-model',
        OPENAI_MAX_RETRIES: '0',
        OPENAI_TIMEOUT_MS: '5000',
      },
    })
  })
  afterAll(async () => {
    await t?.close()
    await upstream?.close()
  })
  beforeEach(() => upstream.reset())

  it('POST /api/sessions and /api/conversations: the same key and body give the first outcome, once', async () => {
    const key = newKey()
    const first = await t.request('POST', '/api/sessions', { user_ref: 'u-1' }, keyed(key))
    const again = await t.request('POST', '/api/sessions', { user_ref: 'u-1' }, keyed(key))
    expect(first.statusCode).toBe(201)
    expect(again.statusCode).toBe(201)
    expect(again.json()).toEqual(first.json())
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(first.headers['idempotent-replayed']).toBeUndefined()
    const sessionId = first.json().session.id

    const convKey = newKey()
    const body = { session_id: sessionId, title: 'once' }
    const c1 = await t.request('POST', '/api/conversations', body, keyed(convKey))
    const c2 = await t.request('POST', '/api/conversations', body, keyed(convKey))
    expect(c2.json().conversation.id).toBe(c1.json().conversation.id)
    const list = await t.request('GET', `/api/conversations?session_id=${sessionId}`)
    expect(list.json().conversations.map((c: { id: string }) => c.id)).toEqual([c1.json().conversation.id])

    // Without a key, every post is a new one.
    const a = await t.request('POST', '/api/sessions', {})
    const b = await t.request('POST', '/api/sessions', {})
    expect(a.json().session.id).not.toBe(b.json().session.id)
  })

  it('the same key with another body is 422, an invalid key 400, and keys belong to the caller', async () => {
    const key = newKey()
    expect((await t.request('POST', '/api/sessions', { user_ref: 'a' }, keyed(key))).statusCode).toBe(201)
    const reused = await t.request('POST', '/api/sessions', { user_ref: 'b' }, keyed(key))
    expect(reused.statusCode).toBe(422)
    expect(reused.json().error.code).toBe('idempotency_key_reused')

    const bad = await t.request('POST', '/api/sessions', {}, keyed('has spaces in it'))
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.code).toBe('invalid_idempotency_key')

    // Another token with the same key and body gets its own session, not the first caller's.
    const other = await createToken(t, 'chat', 'other tenant')
    const mine = await t.request('POST', '/api/sessions', { user_ref: 'a' }, keyed(key))
    const theirs = await t.request('POST', '/api/sessions', { user_ref: 'a' }, { ...keyed(key), token: other.secret })
    expect(theirs.statusCode).toBe(201)
    expect(theirs.headers['idempotent-replayed']).toBeUndefined()
    expect(theirs.json().session.id).not.toBe(mine.json().session.id)
    expect(theirs.json().session.scope).toBe(`token:${other.token.id}`)
  })

  it('a message post: 409 while the first runs, then its outcome; one user message and one reply', async () => {
    const { conversationId } = await newConversation(t)
    const key = newKey()
    upstream.delayMs = 600
    const callsBefore = upstream.completionCalls
    const path = `/api/conversations/${conversationId}/messages`
    const firstPromise = t.request('POST', path, { content: 'hello once' }, keyed(key))
    await new Promise((resolve) => setTimeout(resolve, 200))
    const whileRunning = await t.request('POST', path, { content: 'hello once' }, keyed(key))
    expect(whileRunning.statusCode).toBe(409)
    expect(whileRunning.json().error.code).toBe('idempotency_in_progress')
    const first = await firstPromise
    expect(first.statusCode).toBe(201)
    const replay = await t.request('POST', path, { content: 'hello once' }, keyed(key))
    expect(replay.statusCode).toBe(201)
    expect(replay.json()).toEqual(first.json())
    expect(upstream.completionCalls - callsBefore).toBe(1)
    expect(await transcript(t, conversationId)).toEqual([
      'user: hello once',
      `assistant: ${first.json().reply.content}`,
    ])
  })

  it('a post whose completion failed is retried from its stored user message: never two of it', async () => {
    const { conversationId } = await newConversation(t)
    const key = newKey()
    const path = `/api/conversations/${conversationId}/messages`
    upstream.script = [{ status: 503, body: { error: { message: 'overloaded' } } }]
    const failed = await t.request('POST', path, { content: 'retry me' }, keyed(key))
    expect(failed.statusCode).toBe(502)
    // The user message is stored; the reply is not.
    expect(await transcript(t, conversationId)).toEqual(['user: retry me'])

    const retried = await t.request('POST', path, { content: 'retry me' }, keyed(key))
    expect(retried.statusCode).toBe(201)
    expect(await transcript(t, conversationId)).toEqual([
      'user: retry me',
      `assistant: ${retried.json().reply.content}`,
    ])
    // And from now on the key answers with that outcome.
    const again = await t.request('POST', path, { content: 'retry me' }, keyed(key))
    expect(again.json()).toEqual(retried.json())
  })

  it('a streamed post replays as a stream: the reply and the same complete event', async () => {
    const { conversationId } = await newConversation(t)
    const key = newKey()
    const path = `/api/conversations/${conversationId}/messages`
    const callsBefore = upstream.completionCalls
    const first = await t.request('POST', path, { content: 'stream once', stream: true }, keyed(key))
    const again = await t.request('POST', path, { content: 'stream once', stream: true }, keyed(key))
    expect(again.headers['content-type']).toContain('text/event-stream')
    const text = (body: string) =>
      parseSse(body)
        .filter((e) => e.event === 'token')
        .map((e) => JSON.parse(e.data).text)
        .join('')
    const complete = (body: string) => JSON.parse(parseSse(body).find((e) => e.event === 'complete')!.data)
    expect(text(again.body)).toBe(text(first.body))
    expect(complete(again.body)).toEqual(complete(first.body))
    expect(upstream.completionCalls - callsBefore).toBe(1)
    expect((await transcript(t, conversationId)).length).toBe(2)
  })

  it('the batch import runs once per key', async () => {
    const { conversationId } = await newConversation(t)
    const key = newKey()
    const body = { messages: [{ role: 'user', content: 'imported' }] }
    const path = `/api/conversations/${conversationId}/messages/batch`
    const a = await t.request('POST', path, body, keyed(key))
    const b = await t.request('POST', path, body, keyed(key))
    expect(b.json()).toEqual(a.json())
    expect(await transcript(t, conversationId)).toEqual(['user: imported'])
  })
})

describe.each(backends)('Idempotency-Key across a restart ($name)', (backend) => {
  const schema = uniqueName('idem')
  const cachePrefix = `ccp-test:${uniqueName('idem')}:`
  const dataDir = mkdtempSync(join(tmpdir(), 'ccp-idem-'))
  const shared = { schema, cachePrefix, dataDir, keepData: true, env: { ADMIN_TOKEN: generateToken() } }
  afterAll(async () => {
    await dropTestData(backend, { schema, cachePrefix })
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('a retry after the restart gets the outcome from before it', async () => {
    const first = await createTestApp(backend, shared)
    const before = await first.request('POST', '/api/sessions', { user_ref: 'r' }, keyed('restart-key'))
    await first.close()
    const second = await createTestApp(backend, shared)
    try {
      const after = await second.request('POST', '/api/sessions', { user_ref: 'r' }, keyed('restart-key'))
      expect(after.statusCode).toBe(201)
      expect(after.headers['idempotent-replayed']).toBe('true')
      expect(after.json()).toEqual(before.json())
    } finally {
      await second.close()
    }
    // Two starts of the whole app (migrations included) on a busy machine.
  }, 120_000)
})

if (real) {
  describe('Idempotency-Key on two instances (postgres)', () => {
    const [a, b] = useInstances(real!, 2)

    it('concurrent posts with one key on two instances create one session; the other is 409 or the replay', async () => {
      for (let round = 0; round < 5; round++) {
        const key = newKey()
        const [ra, rb] = await Promise.all([
          a!.request('POST', '/api/sessions', { user_ref: 'fleet' }, keyed(key)),
          b!.request('POST', '/api/sessions', { user_ref: 'fleet' }, keyed(key)),
        ])
        const created = [ra, rb].filter((r) => r.statusCode === 201 && r.headers['idempotent-replayed'] === undefined)
        expect(created).toHaveLength(1)
        for (const r of [ra, rb].filter((r) => !created.includes(r))) {
          if (r.statusCode === 201) expect(r.json()).toEqual(created[0]!.json())
          else expect(r.statusCode).toBe(409)
        }
        // A later retry on either instance is the replay.
        const later = await b!.request('POST', '/api/sessions', { user_ref: 'fleet' }, keyed(key))
        expect(later.json()).toEqual(created[0]!.json())
      }
    })
  })
}
