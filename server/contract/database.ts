import { Type, type Static } from '@sinclair/typebox'
import { NullableDateTime } from './common.js'
import type { Wire } from './wire.js'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])
const Level = Type.Union([Type.Literal('ok'), Type.Literal('warn'), Type.Literal('critical')])

export const OverviewView = Type.Object({
  database: Type.Object({
    kind: Type.Union([Type.Literal('postgres'), Type.Literal('pglite')]),
    schema: Type.String(),
    databaseBytes: Type.Number(),
    schemaBytes: Type.Number(),
    connections: Type.Integer(),
    maxConnections: Type.Integer(),
    cacheHitRate: Nullable(Type.Number()),
    transactionIdAge: Type.Number(),
    longRunning: Type.Integer(),
    idleInTransaction: Type.Integer(),
  }),
  status: Level,
  checks: Type.Array(
    Type.Object({ name: Type.String(), status: Level, value: Nullable(Type.Number()), message: Type.String() }),
  ),
})

export const TableView = Type.Object({
  name: Type.String(),
  totalBytes: Type.Number(),
  tableBytes: Type.Number(),
  indexBytes: Type.Number(),
  rows: Type.Number(),
  deadTuples: Type.Number(),
  deadRatio: Type.Number(),
  modsSinceAnalyze: Type.Number(),
  lastVacuum: NullableDateTime,
  lastAutovacuum: NullableDateTime,
  lastAnalyze: NullableDateTime,
  lastAutoanalyze: NullableDateTime,
  seqScans: Type.Number(),
  idxScans: Type.Number(),
})

export const IndexView = Type.Object({
  name: Type.String(),
  table: Type.String(),
  definition: Type.String(),
  method: Type.String(),
  sizeBytes: Type.Number(),
  scans: Type.Number(),
  unique: Type.Boolean(),
  primary: Type.Boolean(),
  valid: Type.Boolean(),
  building: Type.Boolean(),
  unused: Type.Boolean({ description: 'Never scanned, not unique, at least INDEX_UNUSED_MIN_BYTES' }),
  duplicateOf: Nullable(Type.String({ description: 'An index whose leading columns cover this one' })),
  bloat: Nullable(
    Type.Object({ bytes: Type.Number(), ratio: Type.Number() }, { description: 'Estimated (b-tree only)' }),
  ),
  bloated: Type.Boolean(),
  reindexLeftover: Type.Boolean({
    description: 'Invalid *_ccnew/*_ccold copy left by an interrupted REINDEX CONCURRENTLY',
  }),
})

const TopQueryView = Type.Object({
  queryId: Type.String(),
  query: Type.String(),
  calls: Type.Number(),
  totalMs: Type.Number(),
  meanMs: Type.Number(),
  rows: Type.Number(),
  shareOfTotal: Type.Number({ description: 'Share of all statement time in our database (0..1)' }),
  cacheHitRate: Nullable(Type.Number()),
})

/** The statements that took the most time, or why they cannot be shown (no pg_stat_statements). */
export const QueriesView = Type.Union([
  Type.Object({ available: Type.Literal(true), queries: Type.Array(TopQueryView) }),
  Type.Object({ available: Type.Literal(false), reason: Type.String(), howToEnable: Type.String() }),
])

const BackendView = Type.Object({
  pid: Type.Integer(),
  user: Nullable(Type.String()),
  application: Nullable(Type.String()),
  clientAddress: Nullable(Type.String()),
  backendType: Nullable(Type.String()),
  state: Nullable(Type.String()),
  waitEventType: Nullable(Type.String()),
  waitEvent: Nullable(Type.String()),
  query: Nullable(Type.String()),
  queryHidden: Type.Union([Type.Literal('other_role'), Type.Literal('no_privilege'), Type.Null()], {
    description:
      'Why query is null although the session has one: other_role, it belongs to another database role and only ' +
      "admins see those statements; no_privilege, Postgres does not show it to the service's role",
  }),
  queryStart: NullableDateTime,
  transactionStart: NullableDateTime,
  durationSeconds: Nullable(Type.Number()),
  blockedBy: Type.Array(Type.Integer()),
})

export const ActivityView = Type.Object({
  longQuerySeconds: Type.Integer(),
  total: Type.Integer(),
  running: Type.Array(BackendView),
  longRunning: Type.Array(BackendView),
  blocked: Type.Array(BackendView),
  idleInTransaction: Type.Array(BackendView),
})

const TableMaintenanceView = Type.Object({
  table: Type.String(),
  action: Type.Union([Type.Literal('vacuum'), Type.Literal('analyze')]),
  deadTuplesBefore: Type.Number(),
  deadTuplesAfter: Nullable(Type.Number()),
  deadRatioBefore: Type.Number(),
  durationMs: Type.Number(),
  error: Nullable(Type.String()),
})

const IndexRepairView = Type.Object({
  index: Type.String(),
  table: Type.String(),
  action: Type.String(),
  reason: Type.String(),
  durationMs: Type.Number(),
  error: Nullable(Type.String()),
})

/** The report of a vacuum-analyze run (`output` of its job run; `POST /api/db/optimize` starts one). */
export const VacuumReportView = Type.Object({
  vacuumed: Type.Array(TableMaintenanceView),
  analyzed: Type.Array(TableMaintenanceView),
  deadTuplesBefore: Type.Number(),
  deadTuplesAfter: Type.Number(),
  indexes: Type.Optional(
    Type.Object({
      repaired: Type.Array(IndexRepairView),
      building: Type.Array(Type.String()),
      leftovers: Type.Array(Type.String()),
    }),
  ),
})

export type CheckStatus = Static<typeof Level>
export type DbOverview = Static<typeof OverviewView>
export type DbTable = Wire<Static<typeof TableView>>
export type DbIndex = Static<typeof IndexView>
export type DbQueries = Static<typeof QueriesView>
export type DbBackend = Wire<Static<typeof BackendView>>
export type DbActivity = Wire<Static<typeof ActivityView>>
export type TableMaintenance = Static<typeof TableMaintenanceView>
export type IndexRepair = Static<typeof IndexRepairView>
export type VacuumReport = Static<typeof VacuumReportView>
