import { describe, expect, it } from 'vitest'
import { AppError } from '../../../server/errors.js'
import { parseLabelMatchers, parseSince } from '../../../server/metrics/series-query.js'

function rejection(fn: () => unknown): AppError {
  try {
    fn()
  } catch (err) {
    if (err instanceof AppError) return err
    throw err
  }
  throw new Error('expected a rejection')
}

describe('parseLabelMatchers', () => {
  it('reads k=v pairs separated by commas', () => {
    expect(parseLabelMatchers('cache_type=ai_response, layer = l1')).toEqual({ cache_type: 'ai_response', layer: 'l1' })
    expect(parseLabelMatchers('mount=/var/lib/data')).toEqual({ mount: '/var/lib/data' })
    expect(parseLabelMatchers(undefined)).toEqual({})
    expect(parseLabelMatchers('')).toEqual({})
  })

  it.each(['cache_type', 'cache_type=', '=x', '9x=y', 'a=b,,c=d', 'a-b=c', 'a=1,a=2'])(
    'rejects %j with a 400 that names the problem',
    (text) => {
      const err = rejection(() => parseLabelMatchers(text))
      expect(err.statusCode).toBe(400)
      expect(err.code).toBe('invalid_labels')
    },
  )
})

describe('parseSince', () => {
  const now = Date.parse('2026-11-21T12:00:00Z')

  it('accepts epoch milliseconds, ISO 8601 times and durations back from now', () => {
    expect(parseSince('1732147200000', now)).toBe(1732147200000)
    expect(parseSince('2026-11-21T11:00:00Z', now)).toBe(now - 3_600_000)
    expect(parseSince('15m', now)).toBe(now - 900_000)
    expect(parseSince('90s', now)).toBe(now - 90_000)
    expect(parseSince('1h', now)).toBe(now - 3_600_000)
    expect(parseSince(undefined, now)).toBeUndefined()
  })

  it.each(['yesterday', '15 minutes', '-5m', '2026-13-45T99:00:00Z', '1.5h'])('rejects %j with a 400', (text) => {
    const err = rejection(() => parseSince(text, now))
    expect(err.statusCode).toBe(400)
    expect(err.message).toContain('since must be')
  })
})
