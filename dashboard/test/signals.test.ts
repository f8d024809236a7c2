import { describe, expect, it } from 'vitest'
import type { Snapshot } from '../../server/contract/index.js'
import { lineKey, SignalStore } from '../src/lib/signals.svelte.js'

const snapshot = (at: number, signals: Snapshot['signals']): Snapshot => ({ at, instance: 'i', signals })

describe('the signal store behind tiles and charts', () => {
  it('keys a line by signal and sorted labels', () => {
    expect(lineKey('cache_hit_ratio', { b: '2', a: '1' })).toBe(lineKey('cache_hit_ratio', { a: '1', b: '2' }))
    expect(lineKey('http_requests_per_second')).toBe('http_requests_per_second')
  })

  it('starts from the history and appends each snapshot as a new column', () => {
    const store = new SignalStore()
    store.loadHistory({ times: [1000, 2000], lines: [{ name: 'cpu', labels: {}, values: [0.1, 0.2] }] })
    store.append(snapshot(3000, [{ name: 'cpu', labels: {}, value: 0.3 }]))
    expect(store.window(['cpu'], 60_000)).toEqual([
      [1000, 2000, 3000],
      [0.1, 0.2, 0.3],
    ])
    expect(store.value('cpu')).toBe(0.3)
    expect(store.lastAt()).toBe(3000)
  })

  it('pads a line that appears late, or skips a tick, with nulls (gaps, not zeros)', () => {
    const store = new SignalStore()
    store.append(snapshot(1000, [{ name: 'cpu', labels: {}, value: 0.1 }]))
    store.append(snapshot(2000, [{ name: 'hit', labels: { cache_type: 'models' }, value: 0.9 }]))
    const hit = lineKey('hit', { cache_type: 'models' })
    expect(store.window(['cpu', hit, 'absent'], 60_000)).toEqual([
      [1000, 2000],
      [0.1, null],
      [null, 0.9],
      [null, null],
    ])
    expect(store.labelSets('hit')).toEqual([{ cache_type: 'models' }])
  })

  it('ignores a snapshot older than the newest column (a late frame after a reconnect)', () => {
    const store = new SignalStore()
    store.append(snapshot(2000, [{ name: 'cpu', labels: {}, value: 0.2 }]))
    store.append(snapshot(1000, [{ name: 'cpu', labels: {}, value: 0.1 }]))
    expect(store.window(['cpu'], 60_000)).toEqual([[2000], [0.2]])
  })

  it('windows on the newest sample time, not the browser clock', () => {
    const store = new SignalStore()
    for (let s = 1; s <= 10; s++) store.append(snapshot(s * 60_000, [{ name: 'cpu', labels: {}, value: s }]))
    expect(store.window(['cpu'], 5 * 60_000)).toEqual([
      [300_000, 360_000, 420_000, 480_000, 540_000, 600_000],
      [5, 6, 7, 8, 9, 10],
    ])
  })

  it('forgets samples older than its retention', () => {
    const store = new SignalStore(100_000)
    for (let at = 1000; at <= 300_000; at += 1000) store.append(snapshot(at, [{ name: 'cpu', labels: {}, value: at }]))
    const [times] = store.window(['cpu'], Number.MAX_SAFE_INTEGER)
    expect(times[0]).toBeGreaterThanOrEqual(300_000 - 100_000 - 60_000)
    expect(times.at(-1)).toBe(300_000)
  })

  it('bumps its version on every change, which is what charts and tiles redraw on', () => {
    const store = new SignalStore()
    const before = store.version
    store.loadHistory({ times: [], lines: [] })
    store.append(snapshot(1, []))
    expect(store.version).toBe(before + 2)
  })
})
