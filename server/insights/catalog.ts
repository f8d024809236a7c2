import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

/**
 * Catalog and statistics reads shared by the insights APIs and the maintenance jobs. Every
 * query is limited to one schema (ours): other applications, or other test runs sharing the
 * database, are none of our business. Counts arrive as strings (bigint) and are converted.
 */
export interface TableStats {
  name: string
  liveTuples: number
  deadTuples: number
  modsSinceAnalyze: number
  seqScans: number
  idxScans: number
  totalBytes: number
  tableBytes: number
  indexBytes: number
  lastVacuum: Date | null
  lastAutovacuum: Date | null
  lastAnalyze: Date | null
  lastAutoanalyze: Date | null
}

type Num = string | number | null

export async function tableStats(db: Kysely<Database>, schema: string): Promise<TableStats[]> {
  const { rows } = await sql<Record<string, Num | Date | string>>`
    select s.relname as name, s.n_live_tup as live, s.n_dead_tup as dead, s.n_mod_since_analyze as mods,
           s.seq_scan as seq, s.idx_scan as idx,
           pg_total_relation_size(s.relid) as total_bytes, pg_relation_size(s.relid) as table_bytes, pg_indexes_size(s.relid) as index_bytes,
           s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze
      from pg_stat_user_tables s
     where s.schemaname = ${schema}
     order by pg_total_relation_size(s.relid) desc, s.relname`.execute(db)
  return rows.map((r) => ({
    name: String(r.name),
    liveTuples: num(r.live as Num),
    deadTuples: num(r.dead as Num),
    modsSinceAnalyze: num(r.mods as Num),
    seqScans: num(r.seq as Num),
    idxScans: num(r.idx as Num),
    totalBytes: num(r.total_bytes as Num),
    tableBytes: num(r.table_bytes as Num),
    indexBytes: num(r.index_bytes as Num),
    lastVacuum: (r.last_vacuum as Date | null) ?? null,
    lastAutovacuum: (r.last_autovacuum as Date | null) ?? null,
    lastAnalyze: (r.last_analyze as Date | null) ?? null,
    lastAutoanalyze: (r.last_autoanalyze as Date | null) ?? null,
  }))
}

export interface IndexStats {
  name: string
  table: string
  method: string
  unique: boolean
  primary: boolean
  valid: boolean
  /** A CREATE INDEX / REINDEX is building it right now (so invalid is expected). */
  building: boolean
  scans: number
  sizeBytes: number
  definition: string
  /** Table column numbers (0 for an expression), key and included columns, in order. */
  columns: number[]
  /** Operator classes of the key columns, to tell apart indexes on the same columns. */
  opclasses: string
  hasExpressions: boolean
  predicate: string | null
  relpages: number
  /** -1 when never vacuumed or analyzed. */
  reltuples: number
  fillfactor: number | null
  /** Per key column: average width and null fraction from pg_stats, null where not analyzed. */
  columnStats: Array<{ avgWidth: number; nullFrac: number } | null>
}

export async function indexStats(db: Kysely<Database>, schema: string): Promise<IndexStats[]> {
  const { rows } = await sql<Record<string, unknown>>`
    select i.indexrelname as name, i.relname as "table", am.amname as method,
           x.indisunique as "unique", x.indisprimary as "primary", x.indisvalid as valid,
           exists (select 1 from pg_stat_progress_create_index p where p.index_relid = i.indexrelid or p.relid = i.relid and p.index_relid = 0) as building,
           i.idx_scan as scans, pg_relation_size(i.indexrelid) as size_bytes, pg_get_indexdef(i.indexrelid) as definition,
           x.indkey::int2[] as columns, x.indclass::text as opclasses, x.indexprs is not null as has_expressions,
           pg_get_expr(x.indpred, x.indrelid) as predicate, c.relpages, c.reltuples,
           (select substring(o from 'fillfactor=([0-9]+)')::int from unnest(c.reloptions) o where o like 'fillfactor=%') as fillfactor,
           (select coalesce(json_agg(case when s.avg_width is null then null else json_build_object('avgWidth', s.avg_width, 'nullFrac', s.null_frac) end order by k.pos), '[]'::json)
              from unnest(x.indkey::int2[]) with ordinality as k(attnum, pos)
              left join pg_attribute ta on k.attnum <> 0 and ta.attrelid = x.indrelid and ta.attnum = k.attnum
              left join pg_attribute ia on k.attnum = 0 and ia.attrelid = x.indexrelid and ia.attnum = k.pos
              left join pg_stats s on s.schemaname = i.schemaname
                                  and ((k.attnum <> 0 and s.tablename = i.relname and s.attname = ta.attname)
                                    or (k.attnum = 0 and s.tablename = i.indexrelname and s.attname = ia.attname))) as column_stats
      from pg_stat_user_indexes i
      join pg_index x on x.indexrelid = i.indexrelid
      join pg_class c on c.oid = i.indexrelid
      join pg_am am on am.oid = c.relam
     where i.schemaname = ${schema}
     order by i.relname, i.indexrelname`.execute(db)
  return rows.map((r) => ({
    name: String(r.name),
    table: String(r.table),
    method: String(r.method),
    unique: Boolean(r.unique),
    primary: Boolean(r.primary),
    valid: Boolean(r.valid),
    building: Boolean(r.building),
    scans: num(r.scans as Num),
    sizeBytes: num(r.size_bytes as Num),
    definition: String(r.definition),
    columns: parseIntArray(r.columns),
    opclasses: String(r.opclasses),
    hasExpressions: Boolean(r.has_expressions),
    predicate: (r.predicate as string | null) ?? null,
    relpages: num(r.relpages as Num),
    reltuples: num(r.reltuples as Num),
    fillfactor: r.fillfactor === null || r.fillfactor === undefined ? null : num(r.fillfactor as Num),
    columnStats: (typeof r.column_stats === 'string'
      ? JSON.parse(r.column_stats)
      : r.column_stats) as IndexStats['columnStats'],
  }))
}

/** Names of our tables and their columns, to skip work on tables another feature has not created (yet). */
export async function tableColumns(db: Kysely<Database>, schema: string): Promise<Map<string, Set<string>>> {
  const { rows } = await sql<{ table: string; column: string }>`
    select c.relname as "table", a.attname as "column"
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
     where n.nspname = ${schema} and c.relkind in ('r', 'p')`.execute(db)
  const tables = new Map<string, Set<string>>()
  for (const { table, column } of rows) {
    if (!tables.has(table)) tables.set(table, new Set())
    tables.get(table)!.add(column)
  }
  return tables
}

export function num(value: Num | undefined): number {
  if (value === null || value === undefined) return 0
  return typeof value === 'number' ? value : Number(value)
}

function parseIntArray(value: unknown): number[] {
  if (Array.isArray(value)) return value.map(Number)
  // node-postgres leaves int2[] as text ("{1,2}") unless a parser is registered.
  return String(value ?? '')
    .replace(/[{}]/g, '')
    .split(',')
    .filter(Boolean)
    .map(Number)
}
