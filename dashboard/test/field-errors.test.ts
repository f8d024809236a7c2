import { describe, expect, it } from 'vitest'
import { ApiError } from '../src/lib/api.js'
import { fieldProblems, problemAt } from '../src/lib/field-errors.js'

describe('fieldProblems', () => {
  it('reads each field of a validation message the server sends for a rule', () => {
    // The message of POST /api/alerts/rules for a rule with two bad fields.
    const err = new ApiError(
      400,
      'validation_error',
      'body/threshold must be a number; body/for must be a duration like 30s, 5m or 1h30m',
    )
    const problems = fieldProblems(err)
    expect([...problems.fields]).toEqual([
      ['/threshold', 'must be a number'],
      ['/for', 'must be a duration like 30s, 5m or 1h30m'],
    ])
    expect(problems.general).toEqual([])
  })

  it('strips the prefix of a rule inside a backtest request and keeps nested pointers', () => {
    const err = new ApiError(
      400,
      'validation_error',
      'body/rule/over/window must be longer than 0s and at most 24h; body/minutes must be an integer from 1 to 1440',
    )
    const problems = fieldProblems(err, 'body/rule')
    expect([...problems.fields]).toEqual([['/over/window', 'must be longer than 0s and at most 24h']])
    expect(problems.general).toEqual(['body/minutes must be an integer from 1 to 1440'])
    expect(problemAt(problems, '/over')).toBe('window: must be longer than 0s and at most 24h')
  })

  it('keeps a message with a semicolon of its own in one piece', () => {
    const err = new ApiError(400, 'validation_error', 'body/annotations/summary unclosed action; expected }}')
    expect(problemAt(fieldProblems(err), '/annotations/summary')).toBe('unclosed action; expected }}')
  })

  it('uses structured details when the error carries them', () => {
    const err = Object.assign(new Error('whatever'), { details: [{ path: 'body/url', message: 'is not a valid URL' }] })
    expect(problemAt(fieldProblems(err), '/url')).toBe('is not a valid URL')
  })

  it('puts what names no field (a conflict, a network failure) in the general list', () => {
    const conflict = new ApiError(
      409,
      'conflict',
      'A rule named HighCpu exists; PUT /api/alerts/rules/HighCpu changes it',
    )
    expect(fieldProblems(conflict)).toEqual({
      fields: new Map(),
      general: ['A rule named HighCpu exists; PUT /api/alerts/rules/HighCpu changes it'],
    })
    expect(problemAt(null, '/name')).toBeNull()
  })
})
