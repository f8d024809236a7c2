import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

/** One rollup increment: what some requests of one scope × token × model × hour added. */
export interface UsageIncrement {
  scope: string
  token_id: string
  project: string | null
  model: string
  /** The pool upstream that answered ('' for a cached reply). */
  upstream: string
  /** The start of the UTC hour. */
  hour: Date
  requests: number
  cached_requests: number
  prompt_tokens: number
  completion_tokens: number
  /** USD, or null when the model has no price. */
  cost: number | null
}

export type UsageGroupBy = 'token' | 'project' | 'model' | 'hour' | 'day'

export interface UsageFilter {
  from?: Date
  to?: Date
  tokenId?: string
  project?: string
  scope?: string
}

export interface UsageTotals {
  requests: number
  cached: number
  prompt_tokens: number
  completion_tokens: number
  /** USD; null when some of the requests counted were of a model without a price. */
  cost: number | null
}

export interface UsageGroupRow extends UsageTotals {
  key: string | null
}

/** Rows per upsert statement. */
const ROWS_PER_STATEMENT = 1_000

/**
 * The usage_rollup table: increments are added with one upsert per batch (x = x + excluded.x);
 * reads aggregate the hourly rows, never a row per request.
 */
export class UsageRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(increments: UsageIncrement[]): Promise<void> {
    for (let start = 0; start < increments.length; start += ROWS_PER_STATEMENT) {
      const chunk = increments.slice(start, start + ROWS_PER_STATEMENT)
      await this.db
        .insertInto('usage_rollup')
        .columns([
          'scope',
          'token_id',
          'project',
          'model',
          'upstream',
          'hour',
          'requests',
          'cached_requests',
          'prompt_tokens',
          'completion_tokens',
          'cost',
        ])
        .expression(
          sql`select scope, token_id, project, model, upstream, hour, requests, cached_requests, prompt_tokens, completion_tokens, cost
                from jsonb_to_recordset(${JSON.stringify(chunk)}::jsonb)
                     as (scope text, token_id text, project text, model text, upstream text, hour timestamptz, requests bigint,
                         cached_requests bigint, prompt_tokens bigint, completion_tokens bigint, cost double precision)`,
        )
        .onConflict((oc) =>
          oc.columns(['scope', 'token_id', 'model', 'upstream', 'hour']).doUpdateSet({
            requests: sql`usage_rollup.requests + excluded.requests`,
            cached_requests: sql`usage_rollup.cached_requests + excluded.cached_requests`,
            prompt_tokens: sql`usage_rollup.prompt_tokens + excluded.prompt_tokens`,
            completion_tokens: sql`usage_rollup.completion_tokens + excluded.completion_tokens`,
            // null + null stays null (no price known); a price known for either part counts.
            cost: sql`case when usage_rollup.cost is null and excluded.cost is null then null
                           else coalesce(usage_rollup.cost, 0) + coalesce(excluded.cost, 0) end`,
            project: sql`excluded.project`,
          }),
        )
        .execute()
    }
  }

  /** Totals grouped by `groupBy`, largest token count first (hours and days in time order). */
  async grouped(groupBy: UsageGroupBy, filter: UsageFilter, limit = 10_000): Promise<UsageGroupRow[]> {
    let query = this.filtered(filter)
      .select([keyOf(groupBy).as('key'), ...totalsColumns()])
      .groupBy(sql`1`)
    query =
      groupBy === 'hour' || groupBy === 'day'
        ? query.orderBy(sql`1`)
        : query.orderBy(sql`sum(prompt_tokens) + sum(completion_tokens)`, 'desc').orderBy(sql`1`)
    const rows = await query.limit(limit).execute()
    return rows.map((r) => ({ key: r.key, ...totals(r) }))
  }

  /** Totals per hour or day × token, project or model (a stacked chart), in time order. */
  async split(
    groupBy: 'hour' | 'day',
    splitBy: 'token' | 'project' | 'model',
    filter: UsageFilter,
    limit = 10_000,
  ): Promise<(UsageGroupRow & { split: string | null })[]> {
    const rows = await this.filtered(filter)
      .select([keyOf(groupBy).as('key'), keyOf(splitBy).as('split'), ...totalsColumns()])
      .groupBy([sql`1`, sql`2`])
      .orderBy(sql`1`)
      .orderBy(sql`2`)
      .limit(limit)
      .execute()
    return rows.map((r) => ({ key: r.key, split: r.split, ...totals(r) }))
  }

  /** Totals per token since `from` (a budget period's start), for the tokens listed. */
  async perToken(tokenIds: string[], from: Date): Promise<Map<string, UsageTotals>> {
    if (tokenIds.length === 0) return new Map()
    const rows = await this.filtered({ from })
      .where('token_id', 'in', tokenIds)
      .select(['token_id', ...totalsColumns()])
      .groupBy('token_id')
      .execute()
    return new Map(rows.map((r) => [r.token_id, totals(r)]))
  }

  /** Totals per scope since `from`, for the scopes listed. */
  async perScope(scopes: string[], from: Date): Promise<Map<string, UsageTotals>> {
    if (scopes.length === 0) return new Map()
    const rows = await this.filtered({ from })
      .where('scope', 'in', scopes)
      .select(['scope', ...totalsColumns()])
      .groupBy('scope')
      .execute()
    return new Map(rows.map((r) => [r.scope, totals(r)]))
  }

  /**
   * Tokens and cost (of the priced requests) one budget's subject spent since `from`: where a
   * budget period starts. `token:<id>`: that token's own spend; `project:<name>`: the project's.
   */
  async spendOf(subject: string, from: Date): Promise<{ tokens: number; cost: number }> {
    const token = subject.startsWith('token:') ? subject.slice('token:'.length) : null
    const row = await this.filtered(token ? { tokenId: token, from } : { scope: subject, from })
      .select([
        sql<string>`coalesce(sum(prompt_tokens + completion_tokens), 0)`.as('tokens'),
        sql<number>`coalesce(sum(cost), 0)`.as('cost'),
      ])
      .executeTakeFirst()
    return { tokens: Number(row?.tokens ?? 0), cost: Number(row?.cost ?? 0) }
  }

  /** Totals of one scope since `from`. */
  async scopeTotals(scope: string, from: Date): Promise<UsageTotals> {
    const row = await this.filtered({ scope, from }).select(totalsColumns()).executeTakeFirst()
    return row ? totals(row) : { requests: 0, cached: 0, prompt_tokens: 0, completion_tokens: 0, cost: null }
  }

  private filtered(filter: UsageFilter) {
    let query = this.db.selectFrom('usage_rollup')
    if (filter.from) query = query.where('hour', '>=', filter.from)
    if (filter.to) query = query.where('hour', '<', filter.to)
    if (filter.tokenId) query = query.where('token_id', '=', filter.tokenId)
    if (filter.project) query = query.where('project', '=', filter.project)
    if (filter.scope) query = query.where('scope', '=', filter.scope)
    return query
  }
}

function keyOf(groupBy: UsageGroupBy) {
  return groupBy === 'token'
    ? sql<string>`token_id`
    : groupBy === 'project'
      ? sql<string | null>`project`
      : groupBy === 'model'
        ? sql<string>`model`
        : sql<string>`to_char(date_trunc(${groupBy}, hour at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`
}

function totalsColumns() {
  return [
    sql<string>`coalesce(sum(requests), 0)`.as('requests'),
    sql<string>`coalesce(sum(cached_requests), 0)`.as('cached'),
    sql<string>`coalesce(sum(prompt_tokens), 0)`.as('prompt_tokens'),
    sql<string>`coalesce(sum(completion_tokens), 0)`.as('completion_tokens'),
    // Strict: one unpriced row makes the group's cost unknown rather than understated.
    sql<number | null>`case when count(*) > 0 and bool_and(cost is not null) then sum(cost) end`.as('cost'),
  ] as const
}

function totals(r: {
  requests: string
  cached: string
  prompt_tokens: string
  completion_tokens: string
  cost: number | null
}): UsageTotals {
  return {
    requests: Number(r.requests),
    cached: Number(r.cached),
    prompt_tokens: Number(r.prompt_tokens),
    completion_tokens: Number(r.completion_tokens),
    cost: r.cost === null ? null : Number(r.cost),
  }
}
