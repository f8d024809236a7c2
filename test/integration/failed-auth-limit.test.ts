import type { LogEvent } from 'kysely'
import { describe, expect, it } from 'vitest'
import { generateToken } from '../../server/auth/token-repository.js'
import { backends, real, useInstances, useTestApp, type TestApp } from '../helpers/app.js'

const LIMIT = 3
const WINDOW_S = 60
const env = { AUTH_FAILURE_LIMIT: String(LIMIT), AUTH_FAILURE_WINDOW_S: String(WINDOW_S) }

function me(t: TestApp, options: { address: string; token?: string; forwardedFor?: string }) {
  return t.app.inject({
    method: 'GET',
    url: '/api/auth/me',
    remoteAddress: options.address,
    headers: {
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      ...(options.forwardedFor ? { 'x-forwarded-for': options.forwardedFor } : {}),
    },
  })
}

function expectLimited(res: Awaited<ReturnType<typeof me>>) {
  expect(res.statusCode).toBe(429)
  const retryAfter = Number(res.headers['retry-after'])
  expect(retryAfter).toBeGreaterThanOrEqual(1)
  expect(retryAfter).toBeLessThanOrEqual(WINDOW_S)
  expect(res.json().error).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/failed auth/i) })
}

describe.each(backends)('failed authentication limit ($name)', (backend) => {
  const t = useTestApp(backend, { env })

  it('answers 429 with Retry-After once an address has failed more than AUTH_FAILURE_LIMIT times', async () => {
    const address = '198.51.100.1'
    const codes: number[] = []
    for (let i = 0; i < LIMIT; i++) codes.push((await me(t, { address, token: generateToken() })).statusCode)
    expect(codes).toEqual([401, 401, 401])
    expectLimited(await me(t, { address, token: generateToken() }))
    // The address is refused whatever it sends until the window ends, a valid token included.
    expectLimited(await me(t, { address, token: t.adminToken }))
    // Other addresses are not affected.
    expect((await me(t, { address: '198.51.100.2', token: generateToken() })).statusCode).toBe(401)
    expect((await me(t, { address: '198.51.100.2', token: t.adminToken })).statusCode).toBe(200)
  })

  it('costs no token lookup while an address is refused', async () => {
    const address = '198.51.100.3'
    for (let i = 0; i <= LIMIT; i++) await me(t, { address, token: 'ccp_malformed' })
    const lookups: string[] = []
    const listener = (event: LogEvent) => {
      if (/"api_tokens"/.test(event.query.sql)) lookups.push(event.query.sql)
    }
    t.app.database.queryListeners.add(listener)
    try {
      for (let i = 0; i < 5; i++) expectLimited(await me(t, { address, token: generateToken() }))
    } finally {
      t.app.database.queryListeners.delete(listener)
    }
    expect(lookups).toEqual([])
  })

  it('does not count requests that bring no credentials', async () => {
    const address = '198.51.100.4'
    for (let i = 0; i < LIMIT * 3; i++) expect((await me(t, { address })).statusCode).toBe(401)
    expect((await me(t, { address, token: t.adminToken })).statusCode).toBe(200)
  })
})

describe.each(backends)('failed authentication limit behind TRUST_PROXY=1 ($name)', (backend) => {
  const t = useTestApp(backend, { env: { ...env, TRUST_PROXY: '1' } })
  const proxy = '10.0.0.2'

  it('counts the address the proxy saw (the last X-Forwarded-For hop), not a first entry the client chose', async () => {
    const client = '203.0.113.9'
    for (let i = 0; i < LIMIT; i++) {
      const res = await me(t, { address: proxy, token: generateToken(), forwardedFor: `192.0.2.${i}, ${client}` })
      expect(res.statusCode).toBe(401)
    }
    expectLimited(await me(t, { address: proxy, token: generateToken(), forwardedFor: `192.0.2.99, ${client}` }))
    expectLimited(await me(t, { address: proxy, token: t.adminToken, forwardedFor: client }))
    // Another client behind the same proxy is its own address.
    const other = await me(t, { address: proxy, token: t.adminToken, forwardedFor: `${client}, 203.0.113.10` })
    expect(other.statusCode).toBe(200)
  })
})

describe.each(backends)('failed authentication limit with TRUST_PROXY naming the proxy ($name)', (backend) => {
  const t = useTestApp(backend, { env: { ...env, TRUST_PROXY: '10.0.0.0/24' } })

  it('believes X-Forwarded-For from the proxy only, not from a client that connects directly', async () => {
    const viaProxy = (i: number) =>
      me(t, { address: '10.0.0.2', token: generateToken(), forwardedFor: `192.0.2.${i}, 203.0.113.20` })
    for (let i = 0; i < LIMIT; i++) expect((await viaProxy(i)).statusCode).toBe(401)
    expectLimited(await viaProxy(99))

    const direct = (i: number) =>
      me(t, { address: '198.51.100.30', token: generateToken(), forwardedFor: `203.0.113.${100 + i}` })
    for (let i = 0; i < LIMIT; i++) expect((await direct(i)).statusCode).toBe(401)
    expectLimited(await direct(99))
    // The header from a direct client is ignored: the address it named is not the one refused.
    expect((await me(t, { address: '203.0.113.100', token: t.adminToken })).statusCode).toBe(200)
  })
})

/** Two instances on one Postgres schema and one Redis prefix: the count is shared. */
describe.runIf(real?.databaseUrl && real?.redisUrl)(
  'failed authentication limit across instances (postgres+redis)',
  () => {
    const [a, b] = useInstances(real!, 2, { env }) as [TestApp, TestApp]

    it('refuses on one instance an address that failed on the other', async () => {
      const address = '198.51.100.20'
      for (let i = 0; i < LIMIT; i++) expect((await me(a, { address, token: generateToken() })).statusCode).toBe(401)
      expectLimited(await me(b, { address, token: generateToken() }))
      expectLimited(await me(b, { address, token: b.adminToken }))
      // A learns of the block from the shared count at the address's next failure there.
      expectLimited(await me(a, { address, token: generateToken() }))
    })
  },
)
