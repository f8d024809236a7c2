import type { IndexStats } from './catalog.js'

/**
 * Judgements on indexes from catalog facts alone (pure functions, so they are unit-tested
 * without a database): estimated b-tree bloat, duplicates, unused indexes.
 */
const BLOCK_SIZE = 8192
const PAGE_HEADER = 24
const BTREE_PAGE_OPAQUE = 16
const ITEM_ID = 4
const INDEX_TUPLE_HEADER = 8
const MAXALIGN = 8
const DEFAULT_BTREE_FILLFACTOR = 90

const align = (n: number) => Math.ceil(n / MAXALIGN) * MAXALIGN

export interface BloatEstimate {
  /** Pages the index would need if freshly built. */
  expectedPages: number
  bloatBytes: number
  /** Share of the index that is bloat (0..1). */
  ratio: number
}

/**
 * Estimated bloat of a b-tree index: its actual pages against the pages a fresh build would
 * take for `reltuples` entries of the analyzed column widths (the approach of the well-known
 * ioguix/pgHero estimate). Null when it cannot be estimated: not a b-tree, never analyzed,
 * an expression without statistics.
 */
export function estimateBtreeBloat(
  index: Pick<IndexStats, 'method' | 'relpages' | 'reltuples' | 'fillfactor' | 'columnStats'>,
  blockSize = BLOCK_SIZE,
): BloatEstimate | null {
  if (index.method !== 'btree' || index.relpages <= 1 || index.reltuples < 0) return null
  if (index.columnStats.length === 0 || index.columnStats.some((c) => c === null)) return null
  const columns = index.columnStats as Array<{ avgWidth: number; nullFrac: number }>
  const hasNulls = columns.some((c) => c.nullFrac > 0)
  const header = align(INDEX_TUPLE_HEADER + (hasNulls ? Math.ceil(columns.length / 8) : 0))
  const data = align(columns.reduce((sum, c) => sum + (1 - c.nullFrac) * c.avgWidth, 0))
  const fillfactor = index.fillfactor ?? DEFAULT_BTREE_FILLFACTOR
  const usable = ((blockSize - PAGE_HEADER - BTREE_PAGE_OPAQUE) * fillfactor) / 100
  const perPage = Math.max(1, Math.floor(usable / (header + data + ITEM_ID)))
  // One metapage, plus leaf pages (inner pages are a rounding error at this precision).
  const expectedPages = 1 + Math.ceil(index.reltuples / perPage)
  const bloatPages = Math.max(0, index.relpages - expectedPages)
  return { expectedPages, bloatBytes: bloatPages * blockSize, ratio: bloatPages / index.relpages }
}

/**
 * Indexes made redundant by another on the same table: same method and predicate, and their
 * columns (with operator classes) a leading prefix of the other's. Unique indexes are never
 * called duplicates (they enforce a constraint); of two identical indexes, the later name is.
 * Returns duplicate name → the index that covers it.
 */
export function findDuplicateIndexes(indexes: IndexStats[]): Map<string, string> {
  const duplicates = new Map<string, string>()
  const candidates = indexes.filter((i) => i.valid && !i.hasExpressions)
  // Name a constraint's index as the cover when there is one: it is the one sure to stay.
  const covers = [...candidates].sort((a, b) => Number(b.unique || b.primary) - Number(a.unique || a.primary))
  for (const index of candidates) {
    if (index.unique || index.primary) continue
    const keys = keyOf(index)
    for (const other of covers) {
      if (
        other === index ||
        other.table !== index.table ||
        other.method !== index.method ||
        other.predicate !== index.predicate
      )
        continue
      const otherKeys = keyOf(other)
      if (otherKeys.length < keys.length || !keys.every((k, n) => otherKeys[n] === k)) continue
      const identical = otherKeys.length === keys.length
      if (identical && !other.unique && !other.primary && other.name > index.name) continue
      duplicates.set(index.name, other.name)
      break
    }
  }
  return duplicates
}

function keyOf(index: IndexStats): string[] {
  const classes = index.opclasses.split(' ')
  return index.columns.map((column, n) => `${column}:${classes[n] ?? ''}`)
}

/** Never scanned since statistics were reset, not enforcing anything, and big enough to matter. */
export function isUnused(
  index: Pick<IndexStats, 'scans' | 'unique' | 'primary' | 'sizeBytes' | 'valid'>,
  minBytes: number,
): boolean {
  return index.valid && index.scans === 0 && !index.unique && !index.primary && index.sizeBytes >= minBytes
}

/** Leftovers of an interrupted REINDEX CONCURRENTLY: PostgreSQL names them *_ccnew / *_ccold. */
export function isConcurrentReindexLeftover(name: string): boolean {
  return /_cc(new|old)[0-9]*$/.test(name)
}
