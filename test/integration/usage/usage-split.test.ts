import { describe, expect, it } from 'vitest'
import { createToken, embedded, useTestApp } from '../../helpers/app.js'

interface Row {
  key: string | null
  split?: string | null
  requests: number
  prompt_tokens: number
  completion_tokens: number
}

describe('usage per day split by token, project or model (the stacked chart)', () => {
  const t = useTestApp(embedded)

  it('answers one row per day × token that add up to the per-token totals; CSV has both keys', async () => {
    const a = await createToken(t, 'chat', 'split a', { project: 'split-proj' })
    const b = await createToken(t, 'chat', 'split b')
    for (const [who, prompt] of [
      [a, 'split one'],
      [a, 'split two'],
      [b, 'split three'],
    ] as const)
      expect((await t.chat(prompt, {}, { token: who.secret })).statusCode).toBe(200)

    const split = (await t.request('GET', '/api/usage?group_by=day&split_by=token')).json()
    expect(split.split_by).toBe('token')
    const byToken = (await t.request('GET', '/api/usage?group_by=token')).json().rows as Row[]
    for (const who of [a, b]) {
      const rows = (split.rows as Row[]).filter((r) => r.split === who.token.id)
      expect(rows.length).toBeGreaterThan(0)
      for (const r of rows) expect(r.key).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00Z$/)
      const total = byToken.find((r) => r.key === who.token.id)!
      expect(rows.reduce((s, r) => s + r.requests, 0)).toBe(total.requests)
      expect(rows.reduce((s, r) => s + r.prompt_tokens + r.completion_tokens, 0)).toBe(
        total.prompt_tokens + total.completion_tokens,
      )
    }

    const projects = (await t.request('GET', '/api/usage?group_by=day&split_by=project')).json().rows as Row[]
    expect(projects.filter((r) => r.split === 'split-proj').reduce((s, r) => s + r.requests, 0)).toBe(2)
    expect(projects.some((r) => r.split === null)).toBe(true)

    const csv = await t.request('GET', '/api/usage?group_by=day&split_by=model&format=csv')
    expect(csv.headers['content-disposition']).toContain('usage-by-day-and-model.csv')
    expect(csv.body.split('\r\n')[0]).toBe('day,model,requests,cached,prompt_tokens,completion_tokens,cost')
  })

  it('keeps the plain answer without split_by and refuses split_by with a non-time group_by', async () => {
    const plain = (await t.request('GET', '/api/usage?group_by=day')).json()
    expect(plain.split_by).toBeUndefined()
    expect((plain.rows as Row[]).every((r) => r.split === undefined)).toBe(true)
    const bad = await t.request('GET', '/api/usage?group_by=token&split_by=model')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.message).toContain('split_by needs group_by=hour or group_by=day')
  })

  it('lets a viewer read the token list (never a secret) but not change it', async () => {
    const viewer = await createToken(t, 'viewer', 'split viewer')
    const list = await t.request('GET', '/api/tokens', undefined, { token: viewer.secret })
    expect(list.statusCode).toBe(200)
    expect(list.body).not.toContain(viewer.secret)
    const create = await t.request('POST', '/api/tokens', { name: 'x', role: 'chat' }, { token: viewer.secret })
    expect(create.statusCode).toBe(403)
  })
})
