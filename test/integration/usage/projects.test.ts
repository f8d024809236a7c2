import { describe, expect, it } from 'vitest'
import { createToken, real, uniqueName, useInstances, type TestApp } from '../../helpers/app.js'

/** A project's own limits and budget (README, "Projects"), two instances on one Postgres and one Redis. */

const RATE_HEADERS = [
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
] as const

async function project(t: TestApp, grant: { limits?: Record<string, number>; budget?: Record<string, unknown> } = {}) {
  const name = uniqueName('proj').replaceAll(':', '-')
  const a = await createToken(t, 'chat', 'first', { project: name, ...grant })
  const b = await createToken(t, 'chat', 'second', { project: name, ...grant })
  return { name, secrets: [a.secret, b.secret] as const }
}

describe.each(real?.redisUrl ? [real] : [])('project limits and budgets across two instances ($name)', (backend) => {
  const [a, b] = useInstances(backend, 2) as [TestApp, TestApp]
  const on = (i: number) => (i % 2 ? a : b)

  it('lists projects, sets and clears their limits (admin, audited), 404 for an unknown one, 400 for a bad budget', async () => {
    const p = await project(a)
    expect((await a.request('PUT', `/api/projects/${p.name}`, { limits: { rpm: 5 } })).statusCode).toBe(204)
    const viewer = await createToken(a, 'viewer')
    const listed = (await b.request('GET', '/api/projects', undefined, { token: viewer.secret })).json().projects
    expect(listed.find((x: { name: string }) => x.name === p.name)).toMatchObject({
      limits: { rpm: 5 },
      budget: null,
      tokens: 2,
      usage: { requests: 0, period: 'month' },
    })
    expect(
      (await a.request('PUT', `/api/projects/${p.name}`, { limits: {} }, { token: viewer.secret })).statusCode,
    ).toBe(403)
    expect((await a.request('PUT', '/api/projects/nobody-has-it', { limits: { rpm: 1 } })).statusCode).toBe(404)
    const bad = await a.request('PUT', `/api/projects/${p.name}`, { budget: { period: 'day' } })
    expect(bad.statusCode).toBe(400)
    expect((await a.request('PUT', `/api/projects/${p.name}`, { limits: { rpm: -1 } })).statusCode).toBe(400)
    expect((await a.request('PUT', '/api/projects/bad name', { limits: {} })).statusCode).toBe(400)
    const audit = (await a.request('GET', `/api/audit?action=project.update`)).body
    expect(audit).toContain(p.name)
    expect((await a.request('DELETE', `/api/projects/${p.name}/limits`)).statusCode).toBe(204)
    expect((await a.request('DELETE', `/api/projects/${p.name}/limits`)).statusCode).toBe(404)
  })

  it('lets exactly 10 of 40 concurrent requests of two tokens through against the project rpm: 10', async () => {
    const p = await project(a)
    // Set on instance a: instance b applies it too (its cached verifications are forgotten).
    expect((await a.request('PUT', `/api/projects/${p.name}`, { limits: { rpm: 10 } })).statusCode).toBe(204)
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        on(i).chat(`project rpm ${i} ${Math.random()}`, {}, { token: p.secrets[(i >> 1) % 2] }),
      ),
    )
    expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(10)
    const refused = answers.filter((r) => r.statusCode === 429)
    expect(refused).toHaveLength(30)
    for (const r of refused) {
      expect(r.json().error).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' })
      expect(r.json().error.message).toMatch(/its project/)
      for (const h of RATE_HEADERS) expect(r.headers[h]).toBeDefined()
      expect(r.headers['x-ratelimit-limit-requests']).toBe('10')
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    }
  })

  it('a refusal by the project takes nothing from the token: its own rpm still has room', async () => {
    const p = await project(a, { limits: { rpm: 3 } })
    await a.request('PUT', `/api/projects/${p.name}`, { limits: { rpm: 2 } })
    const answers = []
    for (let i = 0; i < 4; i++)
      answers.push(await on(i).chat(`refusal ${i} ${Math.random()}`, {}, { token: p.secrets[0] }))
    expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 429, 429])
    await a.request('DELETE', `/api/projects/${p.name}/limits`)
    // The project's refusals reserved nothing on the token: 1 of its 3 left.
    const after = await b.chat(`after ${Math.random()}`, {}, { token: p.secrets[0] })
    expect(after.statusCode, after.body).toBe(200)
    expect(after.headers['x-ratelimit-remaining-requests']).toBe('0')
  })

  it('never spends past a project budget under 20 concurrent requests over two tokens', async () => {
    const budget = 600
    const p = await project(a)
    await b.request('PUT', `/api/projects/${p.name}`, { budget: { tokens: budget, period: 'day' } })
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        on(i).chat(`project budget ${i}`, { max_tokens: 40 }, { token: p.secrets[(i >> 1) % 2] }),
      ),
    )
    let spent = 0
    for (const r of answers)
      if (r.statusCode === 200) spent += r.json().usage.prompt_tokens + r.json().usage.completion_tokens
      else expect(r.json().error.code, r.body).toBe('insufficient_quota')
    expect(answers.some((r) => r.statusCode === 429)).toBe(true)
    expect(spent).toBeLessThanOrEqual(budget)
    await b.app.usage.flush() // (instance b's rollup buffer; a's is flushed by the GET)
    const listed = (await a.request('GET', '/api/projects')).json().projects
    const mine = listed.find((x: { name: string }) => x.name === p.name)
    expect(mine.usage.prompt_tokens + mine.usage.completion_tokens).toBe(spent)
    const ratios = (await a.app.sampler.tick()).signals.filter((s) => s.name === 'budget_used_ratio')
    expect(ratios.find((s) => s.labels.scope === `project:${p.name}`)?.value).toBeGreaterThan(0.5)
  })

  it("counts a token budget on the token's own spend: another token of the project is not charged", async () => {
    const p = await project(a, { budget: { tokens: 200, period: 'day' } })
    let last = await a.chat('own budget 0', { max_tokens: 40 }, { token: p.secrets[0] })
    for (let i = 1; i < 30 && last.statusCode === 200; i++)
      last = await on(i).chat(`own budget ${i}`, { max_tokens: 40 }, { token: p.secrets[0] })
    expect(last.statusCode).toBe(429)
    expect(last.json().error.code).toBe('insufficient_quota')
    const other = await b.chat('the other token', { max_tokens: 40 }, { token: p.secrets[1] })
    expect(other.statusCode, other.body).toBe(200)
  })
})
