import { Type } from '@sinclair/typebox'
import { NullableDateTime } from '../http/schemas.js'

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

export const QueriesView = Type.Object({
  available: Type.Boolean(),
  reason: Type.Optional(Type.String()),
  howToEnable: Type.Optional(Type.String()),
  queries: Type.Optional(
    Type.Array(
      Type.Object({
        queryId: Type.String(),
        query: Type.String(),
        calls: Type.Number(),
        totalMs: Type.Number(),
        meanMs: Type.Number(),
        rows: Type.Number(),
        shareOfTotal: Type.Number(),
        cacheHitRate: Nullable(Type.Number()),
      }),
    ),
  ),
})

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
