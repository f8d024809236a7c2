import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { ReceiverKind, ReceiverSettings } from '../../alerts/kinds/types.js'

/** Kysely's view of our tables. Migrations are the source of truth; keep this in step with them. */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
type Json<T = unknown> = ColumnType<T, string | T, string | T>
/** bigint identity columns arrive from pg as strings; we keep them as strings end to end. */
type BigIntId = ColumnType<string, never, never>
type Optional<T> = ColumnType<T, T | undefined, T>

export type TokenRole = 'admin' | 'viewer' | 'chat'
export type MessageRole = 'system' | 'user' | 'assistant'

export interface SessionsTable {
  id: Generated<string>
  user_ref: string | null
  metadata: Json<Record<string, unknown>>
  /** Whose it is: `project:<name>` or `token:<id>` (scopeOf); null: from before tenancy, admins only. */
  scope: string | null
  created_at: CreatedAt
  last_active_at: Timestamp
}

export interface ConversationsTable {
  id: Generated<string>
  session_id: string
  /** Its session's scope (messages follow their conversation). */
  scope: string | null
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
  /** Tokens of one project share their chat data, limits and budget; null: the token's own. */
  project: string | null
  expires_at: NullableTimestamp
  limits: ColumnType<TokenLimits, string | TokenLimits | undefined, string | TokenLimits>
  budget: ColumnType<TokenBudget | null, string | TokenBudget | null | undefined, string | TokenBudget | null>
}

/** Per-token limits; an absent field is the CHAT_DEFAULT_* value (unset there: unlimited). */
export interface TokenLimits {
  rpm?: number
  tpm?: number
  concurrency?: number
}

/** A spending cap per day or month (UTC): tokens, cost in USD, or both. */
export interface TokenBudget {
  tokens?: number
  cost?: number
  period: 'day' | 'month'
}

/** A dashboard sign-in (the cookie carries the id; only its hash is stored). */
export interface DashboardSessionsTable {
  id_hash: string
  token_id: string
  created_at: CreatedAt
  expires_at: Timestamp
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

export interface JobRunsTable {
  id: Generated<string>
  job: string
  trigger: 'schedule' | 'manual' | 'catch-up'
  instance: string
  occurrence_key: string | null
  params: Json<Record<string, unknown>>
  status: 'running' | 'success' | 'failed' | 'timeout' | 'skipped'
  attempt: ColumnType<number, number | undefined, number>
  started_at: Timestamp
  finished_at: NullableTimestamp
  duration_ms: number | null
  error: string | null
  output: Json<Record<string, unknown>> | null
}

export interface JobSettingsTable {
  job: string
  paused: ColumnType<boolean, boolean | undefined, boolean>
  schedule: string | null
  updated_by: string | null
  updated_at: Timestamp
}

export interface AlertRulesTable {
  name: string
  definition: Json<Record<string, unknown>>
  created_at: CreatedAt
  updated_at: Timestamp
}

export interface AlertStatesTable {
  fingerprint: string
  rule_name: string
  severity: string
  labels: Json<Record<string, string>>
  annotations: Json<Record<string, string>>
  state: 'pending' | 'firing'
  value: number | null
  active_since: Timestamp
  firing_since: NullableTimestamp
  keep_firing_since: NullableTimestamp
  last_notified_at: NullableTimestamp
  ack_by: string | null
  ack_at: NullableTimestamp
  ack_comment: string | null
  updated_at: Timestamp
}

export interface AlertEventsTable {
  id: BigIntId
  at: Timestamp
  fingerprint: string
  rule_name: string
  severity: string
  from_state: string
  to_state: 'pending' | 'firing' | 'inactive' | 'resolved' | 'acknowledged'
  value: number | null
  labels: Json<Record<string, string>>
  annotations: Json<Record<string, string>>
  detail: Json<Record<string, unknown>> | null
}

export interface SilencesTable {
  id: Generated<string>
  matchers: Json<Array<{ name: string; op: '=' | '!=' | '=~' | '!~'; value: string }>>
  starts_at: Timestamp
  ends_at: Timestamp
  created_by: string
  comment: string
  created_at: CreatedAt
  updated_at: Timestamp
}

export interface MaintenanceWindowsTable {
  id: Generated<string>
  name: string
  matchers: Json<Array<{ name: string; op: '=' | '!=' | '=~' | '!~'; value: string }>>
  comment: string
  starts_at: NullableTimestamp
  ends_at: NullableTimestamp
  cron: string | null
  /** bigint: read back as a string. */
  duration_ms: ColumnType<string | null, number | null, number | null>
  timezone: string | null
  created_by: string
  created_at: CreatedAt
  updated_at: Timestamp
}

export interface AlertReceiversTable {
  id: Generated<string>
  name: string
  kind: ReceiverKind
  format: 'alertmanager' | 'slack'
  url: string
  /** Write-only through the API: never returned, only `hasSecret`. */
  secret: string | null
  /** The kind's settings that are not secret (email addresses and server, telegram chat, webhook template). */
  settings: ColumnType<ReceiverSettings, string | undefined, string>
  /** The kind's own secret (SMTP password, PagerDuty routing key, Telegram bot token): write-only. */
  credential: Optional<string | null>
  /** Where a notification that failed for good goes next. */
  fallback_id: Optional<string | null>
  severities: Json<string[]>
  matchers: Json<Array<{ name: string; op: '=' | '!=' | '=~' | '!~'; value: string }>>
  send_resolved: boolean
  group_by: Json<string[]>
  group_wait_ms: number
  enabled: boolean
  source: 'env' | 'api'
  created_at: CreatedAt
  updated_at: Timestamp
}

export interface NotificationOutboxTable {
  id: BigIntId
  receiver_id: string | null
  receiver_name: string
  url: string
  reason: string
  group_key: string
  alerts: Json<Array<Record<string, unknown>>>
  body: string
  idempotency_key: string
  status: 'pending' | 'delivered' | 'failed' | 'suppressed'
  /** The maintenance window that held a 'suppressed' notification back. */
  window_id: ColumnType<string | null, string | null | undefined, string | null>
  attempts: ColumnType<number, number | undefined, number>
  next_attempt_at: Timestamp
  expires_at: Timestamp
  last_error: string | null
  last_status_code: number | null
  created_at: Timestamp
  delivered_at: NullableTimestamp
  /** Set on a fallback's notification: the id of the one that failed for good. */
  fallback_for: Optional<string | null>
}

export interface Database {
  sessions: SessionsTable
  conversations: ConversationsTable
  messages: MessagesTable
  analytics_events: AnalyticsEventsTable
  api_tokens: ApiTokensTable
  dashboard_sessions: DashboardSessionsTable
  audit_log: AuditLogTable
  app_settings: AppSettingsTable
  alert_rules: AlertRulesTable
  alert_states: AlertStatesTable
  alert_events: AlertEventsTable
  silences: SilencesTable
  maintenance_windows: MaintenanceWindowsTable
  alert_receivers: AlertReceiversTable
  notification_outbox: NotificationOutboxTable
  job_runs: JobRunsTable
  job_settings: JobSettingsTable
  usage_rollup: UsageRollupTable
  projects: ProjectsTable
  idempotency_keys: IdempotencyKeysTable
  upstream_states: UpstreamStatesTable
}

/** A project's own limits and budget (PUT /api/projects/:name); a project without a row has none. */
export interface ProjectsTable {
  name: string
  limits: ColumnType<TokenLimits, string | TokenLimits | undefined, string | TokenLimits>
  budget: ColumnType<TokenBudget | null, string | TokenBudget | null | undefined, string | TokenBudget | null>
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
  updated_by: string | null
}

/** Idempotency-Key records of chat posts (server/chat/idempotency/). */
export interface IdempotencyKeysTable {
  scope: string
  key: string
  request_hash: string
  /** running: the first request holds it (until lease_until); done: status and body are its outcome; failed: a retry runs it again. */
  state: 'running' | 'done' | 'failed'
  lease_until: Date | null
  status: number | null
  body: ColumnType<unknown, string | null, string | null>
  resume: ColumnType<Record<string, string> | null, string | null, string | null>
  created_at: ColumnType<Date, Date | undefined, never>
  expires_at: Date
}

/** Admin states of pool upstreams (server/chat/pool/); no row: active. */
export interface UpstreamStatesTable {
  name: string
  state: 'active' | 'draining' | 'disabled'
  updated_at: ColumnType<Date, Date | undefined, Date>
}

/** Chat usage per scope × token × model × hour (server/usage/). bigint columns come back as strings. */
export interface UsageRollupTable {
  scope: string
  token_id: string
  project: string | null
  model: string
  /** The pool upstream that answered; '' for cached replies and rows from before the pool. */
  upstream: ColumnType<string, string | undefined, string>
  hour: Date
  requests: ColumnType<string, number, number>
  cached_requests: ColumnType<string, number, number>
  prompt_tokens: ColumnType<string, number, number>
  completion_tokens: ColumnType<string, number, number>
  cost: number | null
}

export type ApiToken = Selectable<ApiTokensTable>
export type NewApiToken = Insertable<ApiTokensTable>
export type AuditEntry = Selectable<AuditLogTable>
export type Conversation = Selectable<ConversationsTable>
export type ConversationUpdate = Updateable<ConversationsTable>
export type Message = Selectable<MessagesTable>
export type Session = Selectable<SessionsTable>
