import { Type, type Static } from '@sinclair/typebox'

const NullableNumber = Type.Union([Type.Number(), Type.Null()])
const LabelSet = Type.Record(Type.String(), Type.String())

export const SnapshotView = Type.Object({
  at: Type.Number({ description: 'Epoch milliseconds of the tick' }),
  instance: Type.String(),
  signals: Type.Array(Type.Object({ name: Type.String(), labels: LabelSet, value: NullableNumber })),
})

export const SeriesQuery = Type.Object({
  signal: Type.String({ minLength: 1, maxLength: 100, description: 'A signal name, e.g. http_latency_p95_seconds' }),
  labels: Type.Optional(Type.String({ maxLength: 1000, description: 'Label matchers: name=value,name2=value2' })),
  since: Type.Optional(
    Type.String({ maxLength: 40, description: 'Epoch ms, ISO 8601 time, or a duration back from now (15m, 1h)' }),
  ),
})

export const SeriesView = Type.Object({
  signal: Type.String(),
  since: NullableNumber,
  lines: Type.Array(
    Type.Object({
      labels: LabelSet,
      // A pair rather than a Tuple schema: the response serializer rejects a null inside a tuple.
      points: Type.Array(Type.Array(NullableNumber, { minItems: 2, maxItems: 2 }), {
        description: '[epoch ms, value] pairs, oldest first; value null where nothing was measured',
      }),
    }),
  ),
})

const Recommendation = Type.Object({
  area: Type.String(),
  signal: Type.String(),
  value: Type.Number(),
  threshold: Type.Number(),
  message: Type.String(),
})

export const PerformanceView = Type.Object({
  at: Type.Number(),
  instance: Type.String(),
  system: Type.Object({
    cpuUsageRatio: NullableNumber,
    memoryUsageRatio: NullableNumber,
    memoryUsedBytes: NullableNumber,
    memoryLimitBytes: NullableNumber,
    memoryLimitSource: Type.Union([Type.Literal('cgroup'), Type.Literal('host'), Type.Null()]),
    disk: Type.Array(Type.Object({ mount: Type.String(), usageRatio: Type.Number() })),
    eventLoopDelayP99Seconds: NullableNumber,
    processRssBytes: NullableNumber,
    heapUsedBytes: NullableNumber,
    heapTotalBytes: NullableNumber,
  }),
  http: Type.Object({
    requestsPerSecond: NullableNumber,
    errorRatio: NullableNumber,
    latencyP50Seconds: NullableNumber,
    latencyP95Seconds: NullableNumber,
    latencyP99Seconds: NullableNumber,
  }),
  cache: Type.Array(Type.Object({ cacheType: Type.String(), hitRatio: NullableNumber })),
  database: Type.Object({
    queryP95Seconds: NullableNumber,
    pool: Type.Union([Type.Object({ total: Type.Number(), idle: Type.Number(), waiting: Type.Number() }), Type.Null()]),
  }),
  chat: Type.Object({
    requestsPerSecond: NullableNumber,
    cachedRatio: NullableNumber,
    ttftP95Seconds: NullableNumber,
    outputTokensPerSecond: NullableNumber,
  }),
  recommendations: Type.Array(Recommendation),
})

export type Labels = Static<typeof LabelSet>
export type Snapshot = Static<typeof SnapshotView>
export type SeriesResponse = Static<typeof SeriesView>
export type PerformanceSummary = Static<typeof PerformanceView>
