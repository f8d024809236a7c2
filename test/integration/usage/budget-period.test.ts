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
    const first = await ledger.reserve('token:t1', budget, { tokens: 80, cost: 0 }, evening)
    expect(first.reservation).not.toBeNull()
    await ledger.settle(first.reservation!, { tokens: 70, cost: 0 })
    const second = await ledger.reserve('token:t1', budget, { tokens: 40, cost: 0 }, evening)
    expect(second.reservation).toBeNull()
    expect(second.spent.tokens).toBe(70)
    expect(second.resetAt.toISOString()).toBe('2026-12-05T00:00:00.000Z')
    const nextDay = await ledger.reserve('token:t1', budget, { tokens: 40, cost: 0 }, new Date('2026-12-05T00:00:01Z'))
    expect(nextDay.reservation).not.toBeNull()
    expect(nextDay.spent.tokens).toBe(40)
  })

  it('counts cost budgets and monthly periods in UTC', async () => {
    const ledger = new BudgetLedger(redis, prefix, log)
    const budget = { cost: 1, period: 'month' as const }
    const a = await ledger.reserve('project:p', budget, { tokens: 1, cost: 0.6 }, new Date('2026-11-30T23:00:00Z'))
    expect(a.reservation).not.toBeNull()
    expect(
      (await ledger.reserve('project:p', budget, { tokens: 1, cost: 0.6 }, new Date('2026-11-30T23:30:00Z')))
        .reservation,
    ).toBeNull()
    expect(
      (await ledger.reserve('project:p', budget, { tokens: 1, cost: 0.6 }, new Date('2026-12-01T00:00:00Z')))
        .reservation,
    ).not.toBeNull()
    expect(budgetPeriod('month', new Date('2026-12-31T23:59:59Z')).end.toISOString()).toBe('2027-01-01T00:00:00.000Z')
  })
})
