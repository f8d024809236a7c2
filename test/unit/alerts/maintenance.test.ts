import { describe, expect, it } from 'vitest'
import { evaluate, type AlertState } from '../../../alerts/evaluate.js'
import {
  activeWindows,
  nextStart,
  occurrenceAt,
  recurrenceProblem,
  type MaintenanceWindow,
} from '../../../alerts/maintenance.js'
import { validateRule, type AlertRule } from '../../../alerts/rule.js'

const ms = (iso: string) => Date.parse(iso)
const HOUR = 3_600_000

/** 22:00–00:00 Berlin time every day; Berlin leaves CET (UTC+1) for CEST (UTC+2) on 2027-03-28. */
const nightly: MaintenanceWindow = {
  id: 'w1',
  matchers: [{ name: 'service', op: '=', value: 'db' }],
  cron: '0 22 * * *',
  durationMs: 2 * HOUR,
  timezone: 'Europe/Berlin',
}

describe('maintenance windows (fixed clock)', () => {
  it('a one-off window is on from startsAt up to (not including) endsAt', () => {
    const w: MaintenanceWindow = { id: 'o', matchers: [], startsAt: 1000, endsAt: 2000 }
    expect(occurrenceAt(w, 999)).toBeNull()
    expect(occurrenceAt(w, 1000)).toEqual({ windowId: 'o', start: 1000, end: 2000 })
    expect(occurrenceAt(w, 1999)).not.toBeNull()
    expect(occurrenceAt(w, 2000)).toBeNull()
    expect(nextStart(w, 500)).toBe(1000)
    expect(nextStart(w, 1000)).toBeNull()
  })

  it('recurs at the cron time in its timezone and lasts its duration', () => {
    // Winter: 22:00 CET is 21:00 UTC.
    expect(occurrenceAt(nightly, ms('2027-01-10T20:59:59Z'))).toBeNull()
    expect(occurrenceAt(nightly, ms('2027-01-10T21:00:00Z'))).toEqual({
      windowId: 'w1',
      start: ms('2027-01-10T21:00:00Z'),
      end: ms('2027-01-10T23:00:00Z'),
    })
    // Past local midnight, still the occurrence that began the evening before.
    expect(occurrenceAt(nightly, ms('2027-01-10T22:59:59Z'))?.start).toBe(ms('2027-01-10T21:00:00Z'))
    expect(occurrenceAt(nightly, ms('2027-01-10T23:00:00Z'))).toBeNull()
    expect(nextStart(nightly, ms('2027-01-10T12:00:00Z'))).toBe(ms('2027-01-10T21:00:00Z'))
    expect(nextStart(nightly, ms('2027-01-10T21:30:00Z'))).toBe(ms('2027-01-11T21:00:00Z'))
  })

  it('stays at 22:00 local time across the DST change in Europe/Berlin', () => {
    const starts: number[] = []
    let now = ms('2027-03-26T12:00:00Z')
    for (let i = 0; i < 4; i++) starts.push((now = nextStart(nightly, now)!))
    expect(starts.map((s) => new Date(s).toISOString())).toEqual([
      '2027-03-26T21:00:00.000Z',
      '2027-03-27T21:00:00.000Z',
      // Summer time from the night of 27 to 28 March: 22:00 CEST is 20:00 UTC.
      '2027-03-28T20:00:00.000Z',
      '2027-03-29T20:00:00.000Z',
    ])
    expect(occurrenceAt(nightly, ms('2027-03-28T20:30:00Z'))).not.toBeNull()
    // Where the window was in winter time, it is over now.
    expect(occurrenceAt(nightly, ms('2027-03-28T22:30:00Z'))).toBeNull()
    // And back in autumn (31 October 2027).
    expect(nextStart(nightly, ms('2027-10-31T12:00:00Z'))).toBe(ms('2027-10-31T21:00:00Z'))
  })

  it('refuses bad cron expressions and timezones', () => {
    expect(recurrenceProblem('0 22 * * *', 'Europe/Berlin')).toBeNull()
    expect(recurrenceProblem('0 22 * *', 'UTC')).toMatch(/five fields/)
    expect(recurrenceProblem('61 22 * * *', 'UTC')).toMatch(/not valid/)
    expect(recurrenceProblem('0 22 * * *', 'Nowhere/City')).toMatch(/IANA timezone/)
  })
})

describe('the engine under a window', () => {
  const rule: AlertRule = (() => {
    const r = validateRule({ name: 'DbDown', signal: 'x', op: '>', threshold: 1, severity: 'critical' })
    if (!r.ok) throw new Error('bad rule')
    return r.rule
  })()
  const sample = (value: number) => ({ signals: [{ name: 'x', labels: { service: 'db' }, value }] })
  const start = ms('2027-01-10T21:00:00Z')

  it('evaluates as ever but holds the notification back, and notifies after the window if still firing', () => {
    let states: AlertState[] = []
    const step = (now: number, value: number) => {
      const result = evaluate([rule], sample(value), states, now, { windows: activeWindows([nightly], now) })
      states = result.states
      return result
    }
    const during = step(start + 60_000, 5)
    expect(during.states[0]?.state).toBe('firing')
    expect(during.notifications).toEqual([])
    expect(during.suppressed).toEqual([
      expect.objectContaining({
        window: { id: 'w1', start, end: start + 2 * HOUR },
        notification: expect.objectContaining({ reason: 'firing', status: 'firing' }),
      }),
    ])
    const after = step(start + 2 * HOUR, 5)
    expect(after.suppressed).toEqual([])
    expect(after.notifications.map((n) => n.reason)).toEqual(['firing'])
  })

  it('sends nothing for an alert that fired and resolved inside the window', () => {
    let states: AlertState[] = []
    for (const [now, value] of [
      [start + 60_000, 5],
      [start + 120_000, 0],
      [start + 2 * HOUR + 1000, 0],
    ] as const) {
      const result = evaluate([rule], sample(value), states, now, { windows: activeWindows([nightly], now) })
      expect(result.notifications).toEqual([])
      states = result.states
    }
    expect(states).toEqual([])
  })
})
