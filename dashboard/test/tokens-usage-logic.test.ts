import { describe, expect, it } from 'vitest'
import type { TokenDto, UsageRowDto } from '../../server/contract/index.js'
import { budgetUse, grantBody, emptyGrantForm, tokenStatus } from '../src/features/tokens/token-state.js'
import { lastDays, OTHER, stackUsage } from '../src/features/usage/stack.js'

/** The token's own spend (what its budget counts); its project's larger spend must not count. */
const usage = (tokens: number, cost: number | null) =>
  ({
    prompt_tokens: tokens - Math.floor(tokens / 3),
    completion_tokens: Math.floor(tokens / 3),
    cost,
    scope_tokens: tokens * 10,
    scope_cost: cost === null ? null : cost * 10,
  }) as NonNullable<TokenDto['usage']>

describe('a token budget bar', () => {
  it('shows the larger share of tokens and cost, and nothing without a budget or figures', () => {
    expect(budgetUse({ budget: null, usage: usage(10, 1) })).toBeNull()
    expect(budgetUse({ budget: { tokens: 100, period: 'day' }, usage: undefined })).toBeNull()
    expect(budgetUse({ budget: { tokens: 100, cost: 10, period: 'day' }, usage: usage(30, 5) })).toEqual({
      of: 'cost',
      used: 5,
      limit: 10,
      ratio: 0.5,
    })
    expect(budgetUse({ budget: { tokens: 100, cost: 10, period: 'day' }, usage: usage(90, 5) })?.of).toBe('tokens')
  })

  it('never counts an unknown cost as zero spent', () => {
    expect(budgetUse({ budget: { cost: 10, period: 'month' }, usage: usage(90, null) })).toBeNull()
    expect(budgetUse({ budget: { tokens: 100, cost: 10, period: 'month' }, usage: usage(20, null) })?.ratio).toBe(0.2)
  })

  it('says revoked, expired or active', () => {
    const now = Date.parse('2026-06-01T00:00:00Z')
    expect(tokenStatus({ revoked_at: '2026-05-01T00:00:00Z', expires_at: null }, now)).toBe('revoked')
    expect(tokenStatus({ revoked_at: null, expires_at: '2026-05-31T00:00:00Z' }, now)).toBe('expired')
    expect(tokenStatus({ revoked_at: null, expires_at: '2026-06-02T00:00:00Z' }, now)).toBe('active')
  })

  it('sends empty limits as left out and an empty budget as none', () => {
    const body = grantBody({ ...emptyGrantForm(), rpm: '60', budgetCost: '2.5', period: 'day' })
    expect(body).toEqual({ project: null, limits: { rpm: 60 }, budget: { cost: 2.5, period: 'day' }, expires_at: null })
  })
})

describe('stacking usage per day', () => {
  const row = (key: string, split: string | null, tokens: number, cost: number | null): UsageRowDto => ({
    key,
    split,
    requests: 1,
    cached: 0,
    prompt_tokens: tokens,
    completion_tokens: 0,
    cost,
  })
  const days = lastDays(3, Date.parse('2026-06-03T12:00:00Z'))

  it('lists the last days as UTC day starts', () => {
    expect(days.map((d) => new Date(d).toISOString())).toEqual([
      '2026-06-01T00:00:00.000Z',
      '2026-06-02T00:00:00.000Z',
      '2026-06-03T00:00:00.000Z',
    ])
  })

  it('puts the largest group at the bottom and each band on top of the ones below, 0 on days without use', () => {
    const stack = stackUsage(
      [
        row('2026-06-01T00:00:00Z', 'a', 5, 1),
        row('2026-06-01T00:00:00Z', 'b', 10, 1),
        row('2026-06-03T00:00:00Z', 'a', 2, 1),
      ],
      days,
      'tokens',
    )
    expect(stack.series.map((s) => s.key)).toEqual(['b', 'a'])
    expect(stack.series[0]).toMatchObject({ values: [10, 0, 0], top: [10, 0, 0] })
    expect(stack.series[1]).toMatchObject({ values: [5, 0, 2], top: [15, 0, 2] })
  })

  it('leaves unknown cost out and says so; groups beyond the maximum become "other"', () => {
    const cost = stackUsage(
      [row('2026-06-02T00:00:00Z', 'm', 5, null), row('2026-06-02T00:00:00Z', 'n', 5, 0.5)],
      days,
      'cost',
    )
    expect(cost.unknownCost).toBe(true)
    expect(cost.series.map((s) => s.key)).toEqual(['n'])
    const many = stackUsage(
      ['a', 'b', 'c', 'd'].map((k, i) => row('2026-06-01T00:00:00Z', k, 10 - i, null)),
      days,
      'tokens',
      3,
    )
    expect(many.series.map((s) => s.key)).toEqual(['a', 'b', OTHER])
    expect(many.series[2]!.values[0]).toBe(8 + 7)
  })
})
