import type { Kysely } from 'kysely'
import type { Config } from '../config.js'
import type { Database } from '../db/schema.js'
import { deadRatio } from './maintenance/vacuum-plan.js'
import { indexStats, tableStats } from './catalog.js'
import { estimateBtreeBloat, findDuplicateIndexes, isConcurrentReindexLeftover, isUnused } from './index-findings.js'

/** `GET /api/db/tables`: our tables, biggest first, with vacuum and scan facts. */
export async function tablesView(db: Kysely<Database>, schema: string) {
  return (await tableStats(db, schema)).map((t) => ({
    name: t.name,
    totalBytes: t.totalBytes,
    tableBytes: t.tableBytes,
    indexBytes: t.indexBytes,
    rows: t.liveTuples,
    deadTuples: t.deadTuples,
    deadRatio: Math.round(deadRatio(t) * 10_000) / 10_000,
    modsSinceAnalyze: t.modsSinceAnalyze,
    lastVacuum: t.lastVacuum,
    lastAutovacuum: t.lastAutovacuum,
    lastAnalyze: t.lastAnalyze,
    lastAutoanalyze: t.lastAutoanalyze,
    seqScans: t.seqScans,
    idxScans: t.idxScans,
  }))
}

/** `GET /api/db/indexes`: every index of ours, with what is wrong with it. */
export async function indexesView(db: Kysely<Database>, schema: string, thresholds: Config['maintenance']['indexes']) {
  const indexes = await indexStats(db, schema)
  const duplicates = findDuplicateIndexes(indexes)
  return indexes.map((i) => {
    const bloat = i.valid ? estimateBtreeBloat(i) : null
    return {
      name: i.name,
      table: i.table,
      definition: i.definition,
      method: i.method,
      sizeBytes: i.sizeBytes,
      scans: i.scans,
      unique: i.unique,
      primary: i.primary,
      valid: i.valid,
      building: i.building,
      unused: isUnused(i, thresholds.unusedMinBytes),
      duplicateOf: duplicates.get(i.name) ?? null,
      bloat: bloat ? { bytes: bloat.bloatBytes, ratio: Math.round(bloat.ratio * 10_000) / 10_000 } : null,
      bloated: bloat !== null && bloat.ratio >= thresholds.bloatRatio && bloat.bloatBytes >= thresholds.bloatMinBytes,
      reindexLeftover: !i.valid && isConcurrentReindexLeftover(i.name),
    }
  })
}
