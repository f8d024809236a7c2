import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { real, useInstances, type TestApp } from '../../helpers/app.js'
import { parseSse } from '../../helpers/chat.js'
import { waitFor } from '../../helpers/wait.js'
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js'

const NAMES = ['up-a', 'up-b', 'up-c'] as const
const COOLDOWN_MS = 5_000

/**
 * Three real local OpenAI-speaking upstreams behind the pool of two instances that share
 * Postgres and Redis: the strategies, failover, the circuit, and drain.
 */
describe('upstream pool over three local upstreams, two instances', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pool-'))
  const file = join(dir, 'upstreams.yaml')
  const upstreams = new Map<string, FakeUpstream>()
  beforeAll(async () => {
    for (const name of NAMES) upstreams.set(name, await startFakeUpstream())
    const deployments = (model: string) => NAMES.map((n) => `      - { upstream: ${n}, model: ${model} }`).join('\n')
    writeFileSync(
      file,
      [
        'upstreams:',
        ...NAMES.map((n) => `  - { name: ${n}, base_url: ${upstreams.get(n)!.url}, weight: ${n === 'up-a' ? 2 : 1} }`),
        'models:',
        '  - name: chat-rr',
        '    deployments:',
        deployments('m1'),
        '  - name: chat-busy',
        '    strategy: least-busy',
        '    deployments:',
        deployments('m1'),
      ].join('\n'),
    )
  })
  afterAll(async () => {
    for (const u of upstreams.values()) await u.close()
  })
  const [a, b] = useInstances(real!, 2, {
    env: {
      UPSTREAMS_FILE: file,
      POOL_CIRCUIT_FAILURES: '1',
      POOL_CIRCUIT_COOLDOWN_MS: String(COOLDOWN_MS),
      OPENAI_TIMEOUT_MS: '5000',
    },
  }) as [TestApp, TestApp]
  beforeEach(() => {
    for (const u of upstreams.values()) u.reset()
  })

  let prompts = 0
  const ask = (t: TestApp, model: string, extra: Record<string, unknown> = {}) =>
    t.chat(`pool prompt ${++prompts} ${Date.now()}`, { model, ...extra })
  const upstreamView = async (t: TestApp, name: string) =>
    (await t.request('GET', '/api/upstreams')).json().upstreams.find((u: { name: string }) => u.name === name)

  it('lists the public model names on /v1/models', async () => {
    const res = await a.request('GET', '/v1/models')
    expect(res.json().data.map((m: { id: string }) => m.id)).toEqual(['chat-rr', 'chat-busy'])
  })

  it('shares 300 requests by weight (2:1:1) within ±10 %', async () => {
    const counts: Record<string, number> = { 'up-a': 0, 'up-b': 0, 'up-c': 0 }
    for (let i = 0; i < 300; i++) {
      const res = await ask(a, 'chat-rr')
      expect(res.statusCode).toBe(200)
      counts[String(res.headers['x-upstream'])]!++
    }
    for (const [name, expected] of [
      ['up-a', 150],
      ['up-b', 75],
      ['up-c', 75],
    ] as const)
      expect(Math.abs(counts[name]! / expected - 1)).toBeLessThanOrEqual(0.1)
    const sent = upstreams.get('up-a')!.requests.at(-1)!
    expect(sent.model).toBe('m1')
    // The usage rollup keeps which upstream answered.
    const rows = await waitFor('usage rows per upstream', async () => {
      const found = await a.app.db
        .selectFrom('usage_rollup')
        .select(['upstream', (eb) => eb.fn.sum<string>('requests').as('requests')])
        .where('model', '=', 'm1-2026')
        .groupBy('upstream')
        .execute()
      const total = found.reduce((n, r) => n + Number(r.requests), 0)
      return total >= 300 && found
    })
    expect(Object.fromEntries(rows.map((r) => [r.upstream, Number(r.requests)]))).toMatchObject(counts)
  })

  it('least-busy sends a request to the idle upstream', async () => {
    for (const u of upstreams.values()) u.delayMs = 400
    const busy = [ask(a, 'chat-busy'), ask(a, 'chat-busy')]
    await waitFor('two upstreams busy', () => [...upstreams.values()].filter((u) => u.inFlight === 1).length === 2)
    const idle = NAMES.find((n) => upstreams.get(n)!.inFlight === 0)!
    const third = await ask(a, 'chat-busy')
    expect(third.headers['x-upstream']).toBe(idle)
    expect((await Promise.all(busy)).map((r) => r.statusCode)).toEqual([200, 200])
  })

  it('kill one under load: no non-streamed request fails, started streams end with an error event, new requests avoid it', async () => {
    for (const u of upstreams.values()) u.tokenDelayMs = 30
    const plain = Array.from({ length: 24 }, (_, i) => ask(i % 2 ? a : b, 'chat-rr'))
    const streams = Array.from({ length: 12 }, (_, i) => ask(i % 2 ? a : b, 'chat-rr', { stream: true }))
    await waitFor('requests on up-b', () => upstreams.get('up-b')!.inFlight >= 2)
    // A few of its 30 ms tokens out (the replies are ~8 tokens), so its streams are past the first.
    await new Promise((resolve) => setTimeout(resolve, 100))
    await upstreams.get('up-b')!.kill()

    const answered = await Promise.all(plain)
    expect(answered.map((r) => r.statusCode)).toEqual(answered.map(() => 200))
    expect(answered.every((r) => r.headers['x-upstream'] !== 'up-b')).toBe(true)
    const cut = (await Promise.all(streams)).filter((r) => r.headers['x-upstream'] === 'up-b')
    expect(cut.length).toBeGreaterThan(0)
    for (const res of cut) {
      const events = parseSse(res.body)
      expect(events.some((e) => e.data.includes('"content":"Upstream'))).toBe(true)
      const last = JSON.parse(events.at(-1)!.data)
      expect(last.error).toMatchObject({ code: 'upstream_error' })
    }

    for (const t of [a, b]) {
      expect(await upstreamView(t, 'up-b')).toMatchObject({ circuit: 'open' })
      for (let i = 0; i < 10; i++) {
        const res = await ask(t, 'chat-rr')
        expect(res.statusCode).toBe(200)
        expect(res.headers['x-upstream']).not.toBe('up-b')
      }
    }
  })

  it('half-opens the circuit after the cooldown and the upstream rejoins', async () => {
    await upstreams.get('up-b')!.revive()
    const before = upstreams.get('up-b')!.completionCalls
    await waitFor(
      'a request answered by up-b',
      async () => (await ask(a, 'chat-rr')).headers['x-upstream'] === 'up-b',
      COOLDOWN_MS * 3,
    )
    expect(upstreams.get('up-b')!.completionCalls).toBe(before + 1)
    expect(await upstreamView(a, 'up-b')).toMatchObject({ circuit: 'closed', state: 'active' })
  })

  it('drain on one instance: in-flight requests finish, neither instance sends new ones; enable restores', async () => {
    const c = upstreams.get('up-c')!
    c.delayMs = 600
    const inFlight = Array.from({ length: 4 }, () => ask(a, 'chat-rr'))
    await waitFor('a request on up-c', () => c.inFlight > 0)
    const drained = await a.request('POST', '/api/upstreams/up-c/drain')
    expect(drained.statusCode).toBe(200)
    expect(drained.json().upstream).toMatchObject({ name: 'up-c', state: 'draining' })
    // The promise is "within a second" on every instance.
    await waitFor('instance b sees the drain', async () => (await upstreamView(b, 'up-c')).state === 'draining', 1_000)

    const calls = c.completionCalls
    const results = await Promise.all(inFlight)
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200, 200])
    expect(results.some((r) => r.headers['x-upstream'] === 'up-c')).toBe(true)
    for (const t of [a, b])
      for (let i = 0; i < 8; i++) expect((await ask(t, 'chat-rr')).headers['x-upstream']).not.toBe('up-c')
    expect(c.completionCalls).toBe(calls)

    const audit = await a.request('GET', '/api/audit?action=upstream.drain')
    expect(JSON.stringify(audit.json())).toContain('up-c')

    expect((await b.request('POST', '/api/upstreams/up-c/enable')).statusCode).toBe(200)
    await waitFor('instance a sees the enable', async () => (await upstreamView(a, 'up-c')).state === 'active', 1_000)
    c.delayMs = 0
    const back = await Promise.all(Array.from({ length: 4 }, () => ask(a, 'chat-rr')))
    expect(back.some((r) => r.headers['x-upstream'] === 'up-c')).toBe(true)
  })

  it('refuses admin actions to viewers and unknown upstreams with 404', async () => {
    expect((await a.request('POST', '/api/upstreams/nope/drain')).statusCode).toBe(404)
    expect((await a.request('POST', '/api/upstreams/up-a/drain', undefined, { token: '' })).statusCode).toBe(401)
  })
})
