import { sql, type Kysely } from 'kysely'
import type { SamplingParams } from '../identity.js'
import type { Database } from '../../db/schema.js'
import type { ChatMessage } from '../providers/types.js'
import type { AnalyticsEventBuffer } from './event-buffer.js'

export const CHAT_COMPLETION_EVENT = 'chat_completion'

/** What `app.chat.warm` needs to recompute (and so re-cache) a completion: exactly its cache identity. */
export interface PromptSample {
  model: string
  messages: ChatMessage[]
  params: SamplingParams
}

/** The `data` of a chat_completion event. */
export interface ChatCompletionEventData {
  api: 'openai' | 'conversation'
  /** Whose request it was (scopeOf the caller); absent on events from before tenancy. */
  scope?: string
  provider: string
  model: string
  status: 'ok' | 'error'
  cached: boolean
  stream: boolean
  latency_ms: number
  ttft_ms: number | null
  tokens_input: number
  tokens_output: number
  error_code?: string
  /** The SHA-256 in the AI-response cache key: identical prompts share it. */
  prompt_hash: string
  /** The normalized prompt, when it is small enough to keep (see PROMPT_SAMPLE_MAX_CHARS). */
  prompt?: PromptSample
}

export interface TopPrompt extends PromptSample {
  /** The scope that asked it (cache warming recomputes it in that scope's cache). */
  scope: string
  prompt_hash: string
  count: number
  last_seen_at: Date
}

/**
 * chat_completion events: recorded through a write-behind buffer (one multi-row INSERT per
 * interval instead of one per request), so readers here flush this instance's buffer first.
 */
export class AnalyticsRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly buffer: AnalyticsEventBuffer,
  ) {}

  /** Queues the event; it reaches the table within the buffer's interval, or at `flush()` / `close()`. */
  recordCompletion(
    event: { session_id?: string | null; conversation_id?: string | null; data: ChatCompletionEventData },
    at = new Date(),
  ): void {
    this.buffer.add({
      type: CHAT_COMPLETION_EVENT,
      session_id: event.session_id ?? null,
      conversation_id: event.conversation_id ?? null,
      data: event.data,
      created_at: at,
    })
  }

  /** Writes every event recorded so far on this instance (read-after-write for the callers of this repository and tests). */
  flush(): Promise<void> {
    return this.buffer.flush()
  }

  /** Shutdown, after the last request: writes what is still buffered. */
  close(): Promise<void> {
    return this.buffer.close()
  }

  /**
   * The prompts answered most often since `since` (successful ones whose text was kept), most
   * frequent first, per scope × prompt (events from before tenancy have no scope and are left out).
   */
  async topPrompts(since: Date, limit: number): Promise<TopPrompt[]> {
    await this.buffer.flush()
    const rows = await this.db
      .selectFrom('analytics_events')
      .select([
        sql<string>`data->>'scope'`.as('scope'),
        sql<string>`data->>'prompt_hash'`.as('prompt_hash'),
        sql<string>`count(*)`.as('count'),
        sql<Date>`max(created_at)`.as('last_seen_at'),
        sql<PromptSample>`(array_agg(data->'prompt' order by id desc))[1]`.as('prompt'),
      ])
      .where('type', '=', CHAT_COMPLETION_EVENT)
      .where('created_at', '>=', since)
      .where(sql<boolean>`data->>'status' = 'ok' and data->'prompt' is not null and data->>'scope' is not null`)
      .groupBy([sql`data->>'scope'`, sql`data->>'prompt_hash'`])
      .orderBy(sql`count(*)`, 'desc')
      .orderBy(sql`max(created_at)`, 'desc')
      .limit(limit)
      .execute()
    return rows.map((r) => ({
      ...r.prompt,
      scope: r.scope,
      prompt_hash: r.prompt_hash,
      count: Number(r.count),
      last_seen_at: r.last_seen_at,
    }))
  }
}
