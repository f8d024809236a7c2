import { describe, expect, it } from 'vitest'
import { reconnectDelay } from '../src/lib/backoff.js'

describe('reconnect backoff', () => {
  it('doubles from half a second up to a ceiling', () => {
    const middle = () => 0.5
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((a) => reconnectDelay(a, middle))).toEqual([
      500, 1000, 2000, 4000, 8000, 15000, 15000, 15000,
    ])
  })

  it('spreads reconnects by ±20 % so dashboards do not return in lockstep', () => {
    expect(reconnectDelay(2, () => 0)).toBe(1600)
    expect(reconnectDelay(2, () => 1)).toBe(2400)
  })
})
