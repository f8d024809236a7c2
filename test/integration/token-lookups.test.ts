import type { FastifyInstance } from 'fastify'
import type { LogEvent } from 'kysely'
import { describe, expect, it } from 'vitest'
import { generateToken } from '../../server/auth/token-repository.js'
import { backends, createTestApp, dropTestData, real, uniqueName, useTestApp, type TestApp } from '../helpers/app.js'
import { waitFor } from '../helpers/wait.js'

/** The token lookups (selects on api_tokens) the app runs while `work` runs. */
async function tokenLookups(app: FastifyInstance, work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = []
  const listener = (event: LogEvent) => {
    if (/^select\b[\s\S]*\bfrom "api_tokens"/i.test(event.query.sql)) seen.push(event.query.sql)
  }
  app.database.queryListeners.add(listener)
  try {
    await work()
  } finally {
    app.database.queryListeners.delete(listener)
  }
  return seen
}

const meWith = (t: TestApp, token: string) =>
  t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } })

// Failures are limited per address; these tests count lookups, not the limit, so it is set out of the way.
const NO_LIMIT = { AUTH_FAILURE_LIMIT: '100000' }

describe.each(backends)('token lookups ($name)', (backend) => {
  const t = useTestApp(backend, { env: NO_LIMIT })

  it('never sends a malformed token to the database', async () => {
    const malformed = [
      'ccp_short',
      `ccp_${'a'.repeat(42)}`,
      `ccp_${'a'.repeat(44)}`,
      `ccp_${'a'.repeat(42)}!`,
      `ccp_${'a'.repeat(42)}=`,
      `CCP_${'a'.repeat(43)}`,
      'x'.repeat(47), // ADMIN_TOKEN's length, but ADMIN_TOKEN is a ccp_ token here: the ccp_ format decides
      'not-a-token-at-all-but-long-enough-to-look-like-one-0000000000',
    ]
    const lookups = await tokenLookups(t.app, async () => {
      for (const token of malformed) expect((await meWith(t, token)).statusCode).toBe(401)
      const signIn = await t.app.inject({ method: 'POST', url: '/api/auth/session', payload: { token: 'ccp_short' } })
      expect(signIn.statusCode).toBe(401)
    })
    expect(lookups).toEqual([])
  })

  it('looks a repeated well-formed unknown token up at most once within the negative-cache window', async () => {
    const bogus = generateToken()
    const lookups = await tokenLookups(t.app, async () => {
      for (let i = 0; i < 20; i++) expect((await meWith(t, bogus)).statusCode).toBe(401)
    })
    expect(lookups.length).toBeLessThanOrEqual(1)
    // A well-formed token is still looked up: a real one works on its first use.
    expect((await meWith(t, t.adminToken)).statusCode).toBe(200)
  })
})

describe.each(backends)('token lookups with an ADMIN_TOKEN of its own shape ($name)', (backend) => {
  // Operators may choose any ADMIN_TOKEN of 32+ characters: strings of its length and alphabet are looked up.
  const ADMIN_TOKEN = `${'k'.repeat(20)}${'Q7'.repeat(10)}`
  const t = useTestApp(backend, { env: { ...NO_LIMIT, ADMIN_TOKEN } })

  it('accepts ADMIN_TOKEN and looks up only strings of its length and alphabet besides ccp_ tokens', async () => {
    expect((await meWith(t, ADMIN_TOKEN)).statusCode).toBe(200)
    const malformed = [ADMIN_TOKEN.slice(1), `${ADMIN_TOKEN}k`, `${ADMIN_TOKEN.slice(1)}!`]
    const none = await tokenLookups(t.app, async () => {
      for (const token of malformed) expect((await meWith(t, token)).statusCode).toBe(401)
    })
    expect(none).toEqual([])
    const sameShape = await tokenLookups(t.app, async () => {
      expect((await meWith(t, `${ADMIN_TOKEN.slice(1)}z`)).statusCode).toBe(401)
      expect((await meWith(t, generateToken())).statusCode).toBe(401)
    })
    expect(sameShape).toHaveLength(2)
  })
})

/** Needs Redis for the announcement between instances: CI has both. */
describe.runIf(real?.databaseUrl && real?.redisUrl)('remembered misses across a rotation (postgres+redis)', () => {
  it('forgets a remembered miss when another instance rotates ADMIN_TOKEN to that secret', async () => {
    const shared = { schema: uniqueName('test'), cachePrefix: `ccp-test:${uniqueName('rot')}:`, keepData: true }
    const oldToken = generateToken()
    const newToken = generateToken()
    const running = await createTestApp(real!, { ...shared, env: { ...NO_LIMIT, ADMIN_TOKEN: oldToken } })
    let restarted: TestApp | undefined
    try {
      // A client tries the new ADMIN_TOKEN on an instance before the one that writes it has restarted.
      const triedAt = Date.now()
      expect(await running.app.authenticator.fromBearer(newToken, triedAt)).toBeNull()
      restarted = await createTestApp(real!, { ...shared, env: { ...NO_LIMIT, ADMIN_TOKEN: newToken } })
      // Asked at the same instant, the miss would still be fresh: only being told lets the token in.
      const principal = await waitFor(
        'the running instance to accept the rotated ADMIN_TOKEN',
        () => running.app.authenticator.fromBearer(newToken, triedAt + 1),
        10_000,
      )
      expect(principal).toMatchObject({ name: 'ADMIN_TOKEN', role: 'admin' })
    } finally {
      await restarted?.close()
      await running.close()
      await dropTestData(real!, shared)
    }
  })
})
