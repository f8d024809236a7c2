import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

/** Kysely's view of our tables. Migrations are the source of truth; keep this in step with them. */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
type Json<T = unknown> = ColumnType<T, string | T, string | T>
/** bigint identity columns arrive from pg as strings; we keep them as strings end to end. */
type BigIntId = ColumnType<string, never, never>

export type TokenRole = 'admin' | 'viewer' | 'chat'
export type MessageRole = 'system' | 'user' | 'assistant'

export interface SessionsTable {
  id: Generated<string>
  user_ref: string | null
  metadata: Json<Record<string, unknown>>
  created_at: CreatedAt
  last_active_at: Timestamp
}

export interface ConversationsTable {
  id: Generated<string>
  session_id: string
  title: string | null
  model: string | null
  metadata: Json<Record<string, unknown>>
  created_at: CreatedAt
  updated_at: Timestamp
}

export interface MessagesTable {
  id: BigIntId
  conversation_id: string
  role: MessageRole
  content: string
  model: string | null
  tokens_input: number | null
  tokens_output: number | null
  latency_ms: number | null
  cached: ColumnType<boolean, boolean | undefined, boolean>
  created_at: CreatedAt
}

export interface AnalyticsEventsTable {
  id: BigIntId
  type: string
  session_id: string | null
  conversation_id: string | null
  data: Json<Record<string, unknown>>
  created_at: CreatedAt
}

export interface ApiTokensTable {
  id: Generated<string>
  name: string
  role: TokenRole
  token_hash: string
  token_prefix: string
  created_by: string | null
  created_at: CreatedAt
  last_used_at: NullableTimestamp
  revoked_at: NullableTimestamp
}

export interface AuditLogTable {
  id: BigIntId
  at: CreatedAt
  actor: string
  actor_token_id: string | null
  action: string
  target: string | null
  params: Json<Record<string, unknown>>
  result: 'ok' | 'error'
  detail: Json<Record<string, unknown>> | null
}

export interface AppSettingsTable {
  key: string
  value: string
}

export interface Database {
  sessions: SessionsTable
  conversations: ConversationsTable
  messages: MessagesTable
  analytics_events: AnalyticsEventsTable
  api_tokens: ApiTokensTable
  audit_log: AuditLogTable
  app_settings: AppSettingsTable
}

export type ApiToken = Selectable<ApiTokensTable>
export type NewApiToken = Insertable<ApiTokensTable>
export type AuditEntry = Selectable<AuditLogTable>
export type Conversation = Selectable<ConversationsTable>
export type ConversationUpdate = Updateable<ConversationsTable>
export type Message = Selectable<MessagesTable>
export type Session = Selectable<SessionsTable>
