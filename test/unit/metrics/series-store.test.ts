import { describe, expect, it } from 'vitest'
import { PointRing } from '../../../server/metrics/ring-buffer.js'
import { SeriesStore } from '../../../server/metrics/series-store.js'
import type { SignalSample, Snapshot } from '../../../server/metrics/snapshot.js'

const snap = (at: number, signals: SignalSample[]): Snapshot => ({ at, instance: 'i', signals })
const s = (name: string, value: number | null, labels: Record<string, string> = {}): SignalSample => ({
  name,
  labels,
  value,
})

describe('PointRing', () => {
  it('keeps the newest `capacity` points, oldest first, growing past its first allocation', () => {
    const ring = new PointRing(100)
    for (let i = 0; i < 250; i++) ring.push(i, i * 2)
    const points = ring.pointsSince()
    expect(points).toHaveLength(100)
    expect(points[0]).toEqual([150, 300])
    expect(points.at(-1)).toEqual([249, 498])
  })

  it('keeps nulls as nulls and filters by time', () => {
    const ring = new PointRing(10)
    ring.push(1, 0.5)
    ring.push(2, null)
    ring.push(3, 0)
    expect(ring.pointsSince(2)).toEqual([
      [2, null],
      [3, 0],
    ])
  })
})

describe('SeriesStore', () => {
  it('holds retention / interval points per line and answers by name, label matchers and since', () => {
    const store = new SeriesStore({ retentionMs: 10_000, intervalMs: 1_000 })
    for (let t = 1; t <= 15; t++) {
      store.append(
        snap(t * 1000, [
          s('http_latency_p95_seconds', t / 100),
          s('cache_hit_ratio', 0.9, { cache_type: 'ai_response' }),
          s('cache_hit_ratio', t % 2 ? null : 0.5, { cache_type: 'models' }),
        ]),
      )
    }
    const [p95] = store.query('http_latency_p95_seconds')
    expect(p95!.points).toHaveLength(10)
    expect(p95!.points[0]).toEqual([6000, 0.06])

    expect(store.query('cache_hit_ratio').map((l) => l.labels.cache_type)).toEqual(['ai_response', 'models'])
    const models = store.query('cache_hit_ratio', { cache_type: 'models' }, 13_000)
    expect(models).toEqual([
      {
        name: 'cache_hit_ratio',
        labels: { cache_type: 'models' },
        points: [
          [13000, null],
          [14000, 0.5],
          [15000, null],
        ],
      },
    ])
    expect(store.query('cache_hit_ratio', { cache_type: 'search' })).toEqual([])
    expect(store.names()).toEqual(['cache_hit_ratio', 'http_latency_p95_seconds'])
  })

  it('drops a label set not seen for the whole retention', () => {
    const store = new SeriesStore({ retentionMs: 5_000, intervalMs: 1_000 })
    store.append(snap(1000, [s('job_failing', 1, { job: 'vacuum' })]))
    store.append(snap(3000, [s('websocket_connections', 2)]))
    expect(store.names()).toEqual(['job_failing', 'websocket_connections'])
    store.append(snap(7000, [s('websocket_connections', 2)]))
    expect(store.names()).toEqual(['websocket_connections'])
  })

  it('stops adding lines at maxLines and says so once', () => {
    const dropped: string[] = []
    const store = new SeriesStore({
      retentionMs: 60_000,
      intervalMs: 1_000,
      maxLines: 3,
      onLineLimit: (_name, labels) => dropped.push(labels.job!),
    })
    const jobs = (at: number) =>
      snap(
        at,
        ['a', 'b', 'c', 'd', 'e'].map((job) => s('job_failing', 0, { job })),
      )
    store.append(jobs(1000))
    store.append(jobs(2000))
    expect(store.lineCount()).toBe(3)
    expect(dropped).toEqual(['d'])
    expect(store.query('job_failing', { job: 'a' })[0]!.points).toHaveLength(2)
  })
})
