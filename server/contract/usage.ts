import { Type, type Static } from '@sinclair/typebox'

const Str = <T extends string[]>(values: [...T]) => Type.Unsafe<T[number]>({ type: 'string', enum: values })

export const UsageGroupBy = Str(['token', 'project', 'model', 'hour', 'day'])
export const UsageSplitBy = Str(['token', 'project', 'model'])

export const UsageQuery = Type.Object(
  {
    group_by: Type.Optional(UsageGroupBy),
    split_by: Type.Optional({
      ...UsageSplitBy,
      description: 'With group_by=hour|day: one row per period × token, project or model (a stacked chart)',
    }),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive (hours starting at or after)' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive' })),
    token_id: Type.Optional(Type.String({ format: 'uuid' })),
    project: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    format: Type.Optional(Str(['json', 'csv'])),
  },
  { additionalProperties: false },
)
export type UsageQueryDto = Static<typeof UsageQuery>

/** Totals of some chat completions. cost: USD, null when a model counted has no price. */
export const UsageTotalsView = Type.Object({
  requests: Type.Integer(),
  cached: Type.Integer({ description: 'Requests answered from the response cache' }),
  prompt_tokens: Type.Integer(),
  completion_tokens: Type.Integer(),
  cost: Type.Union([Type.Number(), Type.Null()]),
})
export type UsageTotalsDto = Static<typeof UsageTotalsView>

export const UsageRowView = Type.Composite([
  Type.Object({
    key: Type.Union([Type.String(), Type.Null()], {
      description: 'The token id, project (null: none), model, or UTC hour/day start',
    }),
    split: Type.Optional(
      Type.Union([Type.String(), Type.Null()], { description: 'With split_by: the token id, project or model' }),
    ),
  }),
  UsageTotalsView,
])
export type UsageRowDto = Static<typeof UsageRowView>

export const UsageResponse = Type.Object({
  group_by: UsageGroupBy,
  split_by: Type.Optional(UsageSplitBy),
  rows: Type.Array(UsageRowView),
})
export type UsageResponseDto = Static<typeof UsageResponse>

/** A token's usage in its budget period (GET /api/tokens). */
export const TokenUsageView = Type.Composite([
  UsageTotalsView,
  Type.Object({
    period: Str(['day', 'month']),
    period_start: Type.String({ format: 'date-time' }),
    scope_tokens: Type.Integer({
      description:
        "Tokens of the token's scope (its project's, when it has one) this period; the token's budget counts its own (prompt_tokens + completion_tokens)",
    }),
    scope_cost: Type.Union([Type.Number(), Type.Null()]),
  }),
])
export type TokenUsageDto = Static<typeof TokenUsageView>
