import { Redis } from 'ioredis'
import pino from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { BudgetLedger, budgetPeriod } from '../../../server/usage/budgets.js'
import { backends, dropTestData, uniqueName } from '../../helpers/app.js'

const log = pino({ level: 'silent' })

describe.each(backends)('budget periods ($name)', (backend) => {
  const prefix = `ccp-test:${uniqueName('budget')}:`
  const redis = backend.redisUrl ? new Redis(backend.redisUrl) : null
  afterAll(async () => {
    await dropTestData(backend, { cachePrefix: prefix })
    redis?.disconnect()
  })

  it('refuses once the day is spent and takes requests again from the next UTC day', async () => {
    const ledger = new BudgetLedger(redis, prefix, log)
    const budget = { tokens: 100, period: 'day' as const }
    const evening = new Date('2026-12-04T23:59:30Z')
    const first = await ledger.reserve([{ subject: 'token:t1', budget }], { tokens: 80, cost: 0 }, evening)
    expect(first.reservation).not.toBeNull()
    await ledger.settle(first.reservation!, { tokens: 70, cost: 0 })
    const second = await ledger.reserve([{ subject: 'token:t1', budget }], { tokens: 40, cost: 0 }, evening)
    expect(second.reservation).toBeNull()
    expect(second.spent[0]!.tokens).toBe(70)
    expect(second.resets[0]!.toISOString()).toBe('2026-12-05T00:00:00.000Z')
    const nextDay = await ledger.reserve(
      [{ subject: 'token:t1', budget }],
      { tokens: 40, cost: 0 },
      new Date('2026-12-05T00:00:01Z'),
    )
    expect(nextDay.reservation).not.toBeNull()
    expect(nextDay.spent[0]!.tokens).toBe(40)
  })

  it('counts cost budgets and monthly periods in UTC', async () => {
    const ledger = new BudgetLedger(redis, prefix, log)
    const budget = { cost: 1, period: 'month' as const }
    const a = await ledger.reserve(
      [{ subject: 'project:p', budget }],
      { tokens: 1, cost: 0.6 },
      new Date('2026-11-30T23:00:00Z'),
    )
    expect(a.reservation).not.toBeNull()
    expect(
      (
        await ledger.reserve(
          [{ subject: 'project:p', budget }],
          { tokens: 1, cost: 0.6 },
          new Date('2026-11-30T23:30:00Z'),
        )
      ).reservation,
    ).toBeNull()
    expect(
      (
        await ledger.reserve(
          [{ subject: 'project:p', budget }],
          { tokens: 1, cost: 0.6 },
          new Date('2026-12-01T00:00:00Z'),
        )
      ).reservation,
    ).not.toBeNull()
    expect(budgetPeriod('month', new Date('2026-12-31T23:59:59Z')).end.toISOString()).toBe('2027-01-01T00:00:00.000Z')
  })

  it('reserves on a token budget and a project budget together, or on neither', async () => {
    const ledger = new BudgetLedger(redis, prefix, log)
    const now = new Date('2026-12-04T12:00:00Z')
    const token = { subject: 'token:t2', budget: { tokens: 1_000, period: 'day' as const } }
    const project = { subject: 'project:q', budget: { tokens: 100, period: 'month' as const } }
    const first = await ledger.reserve([token, project], { tokens: 60, cost: 0 }, now)
    expect(first.reservation?.keys).toHaveLength(2)
    expect(first.spent.map((s) => s.tokens)).toEqual([60, 60])
    // The project budget cannot take 60 more: refused by it (index 1), and the token's holds nothing more.
    const second = await ledger.reserve([token, project], { tokens: 60, cost: 0 }, now)
    expect(second.reservation).toBeNull()
    expect(second.refusedBy).toBe(1)
    expect(second.spent.map((s) => s.tokens)).toEqual([60, 60])
    expect(second.resets.map((d) => d.toISOString())).toEqual(['2026-12-05T00:00:00.000Z', '2027-01-01T00:00:00.000Z'])
    const settled = await ledger.settle(first.reservation!, { tokens: 10, cost: 0 })
    expect(settled.map((s) => s.tokens)).toEqual([10, 10])
    const alone = await ledger.reserve([token], { tokens: 500, cost: 0 }, now)
    expect(alone.spent[0]!.tokens).toBe(510)
  })
})
