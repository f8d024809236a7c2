import { describe, expect, it } from 'vitest'
import type { IndexStats } from '../../../server/insights/catalog.js'
import {
  estimateBtreeBloat,
  findDuplicateIndexes,
  isConcurrentReindexLeftover,
  isUnused,
} from '../../../server/insights/index-findings.js'
import { evaluateOverview, type OverviewMeasurements } from '../../../server/insights/overview.js'

function index(overrides: Partial<IndexStats>): IndexStats {
  return {
    name: 'i',
    table: 't',
    method: 'btree',
    unique: false,
    primary: false,
    valid: true,
    building: false,
    scans: 10,
    sizeBytes: 8192 * 100,
    definition: '',
    columns: [1],
    opclasses: '1978',
    hasExpressions: false,
    predicate: null,
    relpages: 100,
    reltuples: 10_000,
    fillfactor: null,
    columnStats: [{ avgWidth: 4, nullFrac: 0 }],
    ...overrides,
  }
}

describe('b-tree bloat estimate', () => {
  it('finds no bloat in an index the size a fresh build would have', () => {
    // 10 000 int4 keys: 16-byte tuples + 4-byte item ids, ~367 per 90%-full page → 29 pages.
    const estimate = estimateBtreeBloat(index({ relpages: 29, reltuples: 10_000 }))!
    expect(estimate.bloatBytes).toBe(0)
    expect(estimate.expectedPages).toBe(29)
  })

  it('finds most of an index bloat after most of its rows went', () => {
    const estimate = estimateBtreeBloat(index({ relpages: 290, reltuples: 1_000 }))!
    expect(estimate.ratio).toBeGreaterThan(0.9)
    expect(estimate.bloatBytes).toBe((290 - estimate.expectedPages) * 8192)
  })

  it('declines to guess without statistics or for other index methods', () => {
    expect(estimateBtreeBloat(index({ columnStats: [null] }))).toBeNull()
    expect(estimateBtreeBloat(index({ reltuples: -1 }))).toBeNull()
    expect(estimateBtreeBloat(index({ method: 'gin' }))).toBeNull()
  })
})

describe('duplicate indexes', () => {
  it('calls an index whose columns lead another one a duplicate', () => {
    const found = findDuplicateIndexes([
      index({ name: 'a', columns: [1] }),
      index({ name: 'ab', columns: [1, 2], opclasses: '1978 1978' }),
    ])
    expect([...found]).toEqual([['a', 'ab']])
  })

  it('never calls a unique index a duplicate, and of two identical ones only the later name', () => {
    const found = findDuplicateIndexes([
      index({ name: 'b_copy' }),
      index({ name: 'a_first' }),
      index({ name: 'u', unique: true }),
    ])
    expect(found.get('u')).toBeUndefined()
    expect(found.get('a_first')).toBe('u')
    expect(found.get('b_copy')).toBe('u')
    expect(findDuplicateIndexes([index({ name: 'b_copy' }), index({ name: 'a_first' })])).toEqual(
      new Map([['b_copy', 'a_first']]),
    )
  })

  it('tells apart other tables, predicates, operator classes and column orders', () => {
    expect(findDuplicateIndexes([index({ name: 'a' }), index({ name: 'b', table: 'other' })]).size).toBe(0)
    expect(findDuplicateIndexes([index({ name: 'a' }), index({ name: 'b', predicate: '(x > 1)' })]).size).toBe(0)
    expect(findDuplicateIndexes([index({ name: 'a' }), index({ name: 'b', opclasses: '3128' })]).size).toBe(0)
    expect(
      findDuplicateIndexes([
        index({ name: 'a', columns: [2] }),
        index({ name: 'b', columns: [1, 2], opclasses: '1978 1978' }),
      ]).size,
    ).toBe(0)
  })
})

describe('unused indexes and reindex leftovers', () => {
  it('counts only never-scanned, non-unique indexes above the size floor', () => {
    expect(isUnused(index({ scans: 0 }), 1000)).toBe(true)
    expect(isUnused(index({ scans: 1 }), 1000)).toBe(false)
    expect(isUnused(index({ scans: 0, unique: true }), 1000)).toBe(false)
    expect(isUnused(index({ scans: 0, sizeBytes: 500 }), 1000)).toBe(false)
  })

  it('recognises the copies REINDEX CONCURRENTLY leaves behind', () => {
    expect(isConcurrentReindexLeftover('messages_idx_ccnew')).toBe(true)
    expect(isConcurrentReindexLeftover('messages_idx_ccold1')).toBe(true)
    expect(isConcurrentReindexLeftover('accnews_idx')).toBe(false)
  })
})

describe('overview checks', () => {
  const healthy: OverviewMeasurements = {
    databaseBytes: 1,
    schemaBytes: 1,
    connections: 10,
    maxConnections: 100,
    cacheHitRate: 0.999,
    transactionIdAge: 1_000_000,
    longRunning: 0,
    idleInTransaction: 0,
  }
  const statuses = (m: OverviewMeasurements) =>
    Object.fromEntries(evaluateOverview(m, 60).map((c) => [c.name, c.status]))

  it('is all ok on a healthy database', () => {
    expect(new Set(Object.values(statuses(healthy)))).toEqual(new Set(['ok']))
    expect(statuses({ ...healthy, cacheHitRate: null }).cache_hit_rate).toBe('ok')
  })

  it('warns and then goes critical as each measurement worsens', () => {
    expect(statuses({ ...healthy, connections: 85 }).connections).toBe('warn')
    expect(statuses({ ...healthy, connections: 99 }).connections).toBe('critical')
    expect(statuses({ ...healthy, cacheHitRate: 0.95 }).cache_hit_rate).toBe('warn')
    expect(statuses({ ...healthy, cacheHitRate: 0.5 }).cache_hit_rate).toBe('critical')
    expect(statuses({ ...healthy, transactionIdAge: 1.2e9 }).wraparound).toBe('warn')
    expect(statuses({ ...healthy, transactionIdAge: 1.7e9 }).wraparound).toBe('critical')
    expect(statuses({ ...healthy, longRunning: 1 }).long_running_queries).toBe('warn')
    expect(statuses({ ...healthy, idleInTransaction: 5 }).idle_in_transaction).toBe('critical')
  })
})
