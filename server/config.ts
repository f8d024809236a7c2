import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

/**
 * Every environment variable the service reads, in one schema. README's configuration
 * table and `.env.example` list exactly these (a test keeps them in step).
 */
const int = (def: number, min: number, max: number, description: string) =>
  Type.Integer({ default: def, minimum: min, maximum: max, description })
const optionalString = (description: string, options: { minLength?: number; pattern?: string } = {}) =>
  Type.Optional(Type.String({ description, ...options }))

export const EnvSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Interface to listen on' }),
  PORT: int(3000, 0, 65535, 'TCP port to listen on'),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level' },
  ),
  INSTANCE_ID: optionalString('Name of this instance in metrics, logs and the dashboard (default hostname-pid)', {
    minLength: 1,
  }),
  PUBLIC_URL: optionalString('URL users reach the dashboard at; used in alert links (default http://HOST:PORT)', {
    pattern: '^https?://',
  }),
  DATA_DIR: Type.String({
    default: './data',
    minLength: 1,
    description: 'Where the embedded database and local state live',
  }),
  DATABASE_URL: optionalString('postgres:// URL of a real PostgreSQL; unset = embedded PGlite in DATA_DIR/pglite', {
    pattern: '^postgres(ql)?://',
  }),
  DATABASE_SCHEMA: Type.String({
    default: 'public',
    pattern: '^[a-z_][a-z0-9_]{0,62}$',
    description: 'Postgres schema holding our tables',
  }),
  DB_POOL_SIZE: int(10, 1, 500, 'Connections in the Postgres pool'),
  DB_STATEMENT_TIMEOUT_MS: int(
    30_000,
    100,
    3_600_000,
    'statement_timeout for every pooled connection (a query unanswered 1 s past it ends its connection)',
  ),
  DB_CONNECT_TIMEOUT_MS: int(5_000, 100, 120_000, 'Give up connecting to Postgres after this long'),
  REDIS_URL: optionalString('redis:// URL; unset = in-process cache only, single instance', { pattern: '^rediss?://' }),
  REDIS_COMMAND_TIMEOUT_MS: int(
    500,
    10,
    60_000,
    'A Redis command slower than this fails and the cache falls back to L1',
  ),
  CACHE_PREFIX: Type.String({
    default: 'ccp:',
    minLength: 1,
    maxLength: 64,
    pattern: '^[A-Za-z0-9:_.-]+$',
    description: 'Every Redis key we write starts with this',
  }),
  ADMIN_TOKEN: optionalString('Use this as the admin API token instead of generating one (at least 32 characters)', {
    minLength: 32,
  }),
  SESSION_SECRET: optionalString(
    'Signs dashboard session cookies (at least 32 characters; default: generated once and stored in the database)',
    { minLength: 32 },
  ),
  SESSION_TTL_HOURS: int(12, 1, 24 * 30, 'Dashboard sign-in lasts this long'),
  METRICS_TOKEN: optionalString('When set, GET /metrics requires Authorization: Bearer <METRICS_TOKEN>', {
    minLength: 16,
  }),
  BODY_LIMIT_BYTES: int(1_048_576, 1024, 100 * 1_048_576, 'Largest accepted request body'),
  SIGNIN_RATE_LIMIT_PER_MINUTE: int(10, 1, 10_000, 'Sign-in attempts allowed per client address per minute'),
  AUTH_FAILURE_LIMIT: int(
    20,
    1,
    1_000_000,
    'Failed authentications (an unknown, revoked or malformed token or session) allowed per client address per AUTH_FAILURE_WINDOW_S; past that the address gets 429 + Retry-After until the window ends',
  ),
  AUTH_FAILURE_WINDOW_S: int(60, 1, 86_400, 'Window of AUTH_FAILURE_LIMIT, in seconds'),
  TRUST_PROXY: Type.String({
    default: '0',
    pattern: '^[^,\\s]+(?:\\s*,\\s*[^,\\s]+)*$',
    description:
      'Proxies in front of the service, whose X-Forwarded-For entries are believed: their addresses (IP, CIDR, loopback, linklocal, uniquelocal; comma-separated), or a number of hops trusted whatever their address (only when nothing reaches the service but through them); 0 = none, true (older configurations) = 1',
  }),
  MAX_EVENT_LOOP_DELAY_MS: int(
    1_000,
    0,
    60_000,
    'Answer 503 + Retry-After while the event loop lags more than this (0 = off)',
  ),
  SHUTDOWN_TIMEOUT_MS: int(10_000, 100, 600_000, 'On SIGTERM, wait this long for in-flight requests'),
  INSTANCE_HEARTBEAT_MS: int(
    5_000,
    50,
    600_000,
    'Fleet: how often an instance announces itself in Redis (it disappears after three missed beats)',
  ),
  LEADER_LOCK_TTL_MS: int(
    10_000,
    100,
    600_000,
    'Fleet: lease of the alerting leader; another instance takes over within two of these after the leader dies',
  ),
  LIVE_MAX_CONNECTIONS: int(
    5_000,
    1,
    1_000_000,
    'Live dashboard feed: most open WebSockets per instance (more are refused with 503 until one closes)',
  ),
  LIVE_MAX_CONNECTIONS_PER_TOKEN: int(
    100,
    1,
    1_000_000,
    'Live dashboard feed: most open WebSockets per token per instance, its sessions included (more get 429)',
  ),
  // Chat
  CHAT_PROVIDER: Type.Union([Type.Literal('simulated'), Type.Literal('openai')], {
    default: 'simulated',
    description: 'simulated (no LLM needed) or openai (any OpenAI-compatible upstream)',
  }),
  CHAT_MAX_CONTENT_CHARS: int(32_000, 1, 1_000_000, 'Longest accepted message content'),
  CHAT_HISTORY_MESSAGES: int(20, 1, 500, 'Recent messages sent to the provider with each new message'),
  CHAT_MAX_OUTPUT_TOKENS: int(
    4_096,
    1,
    1_000_000,
    'Largest max_tokens / max_completion_tokens a chat request may ask for; the tokens reserved when it names none',
  ),
  CHAT_DEFAULT_RPM: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 100_000_000,
      description: 'Requests a minute per chat token without its own rpm (unset = unlimited)',
    }),
  ),
  CHAT_DEFAULT_TPM: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 1_000_000_000_000,
      description: 'Tokens a minute (prompt + completion) per chat token without its own tpm (unset = unlimited)',
    }),
  ),
  CHAT_DEFAULT_CONCURRENCY: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      description: 'Chat requests in flight per chat token without its own concurrency (unset = unlimited)',
    }),
  ),
  SIM_TOKENS_PER_SECOND: Type.Number({
    default: 50,
    exclusiveMinimum: 0,
    maximum: 100_000,
    description: 'Simulated provider: streaming speed',
  }),
  SIM_FIRST_TOKEN_MS: int(200, 0, 60_000, 'Simulated provider: delay before the first token'),
  SIM_ERROR_RATE: Type.Number({
    default: 0,
    minimum: 0,
    maximum: 1,
    description: 'Simulated provider: share of requests that fail (0..1)',
  }),
  OPENAI_BASE_URL: Type.String({
    default: 'https://api.openai.com/v1',
    pattern: '^https?://',
    description: 'OpenAI-compatible upstream (OpenAI, Ollama, vLLM, llama.cpp server)',
  }),
  OPENAI_API_KEY: optionalString('API key for the upstream'),
  OPENAI_MODEL: Type.String({
    default: 'gpt-4o-mini',
    minLength: 1,
    description: 'Model used when a request names none',
  }),
  OPENAI_TIMEOUT_MS: int(60_000, 100, 600_000, 'Upstream request timeout'),
  OPENAI_MAX_RETRIES: int(2, 0, 10, 'Retries on 429/5xx before the first token'),
  UPSTREAMS_FILE: optionalString(
    'YAML upstream pool (upstreams, public models and their deployments; README, "Upstream pool"); unset: CHAT_PROVIDER/OPENAI_* are a pool of one',
    { minLength: 1 },
  ),
  POOL_MAX_ATTEMPTS: int(
    3,
    1,
    10,
    'Upstream pool: deployments tried for one request before it fails (failover before the first token)',
  ),
  POOL_CIRCUIT_FAILURES: int(
    3,
    1,
    1_000,
    "Upstream pool: consecutive retryable failures that open an upstream's circuit",
  ),
  POOL_CIRCUIT_ERROR_RATIO: Type.Number({
    default: 0.5,
    exclusiveMinimum: 0,
    maximum: 1,
    description: "Upstream pool: error ratio over the last 20 requests (10 at least) that opens an upstream's circuit",
  }),
  POOL_CIRCUIT_COOLDOWN_MS: int(
    10_000,
    100,
    3_600_000,
    'Upstream pool: how long an open circuit stays open before one half-open probe request',
  ),
  MODEL_PRICES_FILE: optionalString(
    'YAML price table (model: { input, output } in USD per million tokens) for usage cost; unset: every cost is null',
    { minLength: 1 },
  ),
  // Cache
  CACHE_L1_MAX_ENTRIES: int(10_000, 1, 10_000_000, 'In-process cache: most entries'),
  CACHE_L1_MAX_BYTES: int(64 * 1_048_576, 1024, 8 * 1024 * 1_048_576, 'In-process cache: most bytes'),
  CACHE_TTL_AI_RESPONSE_S: int(3600, 1, 30 * 86_400, 'TTL of cached chat completions'),
  CACHE_TTL_MODELS_S: int(300, 1, 30 * 86_400, 'TTL of the models list'),
  CACHE_TTL_CONVERSATION_S: int(1800, 1, 30 * 86_400, 'TTL of cached conversations'),
  CACHE_TTL_SESSION_S: int(1800, 1, 30 * 86_400, 'TTL of cached sessions'),
  CACHE_TTL_SEARCH_S: int(600, 1, 30 * 86_400, 'TTL of cached searches'),
  CACHE_SCOPE: Type.Union([Type.Literal('scope'), Type.Literal('global')], {
    default: 'scope',
    description:
      'Who shares cached chat replies: scope = only tokens of one project (or one token); global = everyone (single tenant)',
  }),
  // Metrics
  SAMPLE_INTERVAL_MS: int(
    1_000,
    100,
    60_000,
    'How often the sampler computes a snapshot (alerts are evaluated on each)',
  ),
  SIGNAL_WINDOW_S: int(60, 5, 3_600, 'Sliding window for rates, ratios and percentiles'),
  SERIES_RETENTION_MINUTES: int(60, 1, 24 * 60, 'In-memory history kept per signal'),
  SLOW_REQUEST_MS: int(1_000, 1, 600_000, 'Log requests slower than this at warn'),
  SLOW_QUERY_MS: int(200, 1, 600_000, 'Log database queries slower than this at warn'),
  METRICS_PER_TOKEN: Type.Boolean({
    default: false,
    description: 'Label per-token Prometheus metrics with the token id (cardinality: one series per token)',
  }),
  // Jobs and database maintenance
  JOBS_ENABLED: Type.Boolean({
    default: true,
    description: 'Run scheduled jobs on this instance (false: jobs still run on demand through the API)',
  }),
  JOB_CACHE_WARM_SCHEDULE: optionalString(
    'Cron schedule of cache-warm (seconds field allowed; default every 10 minutes)',
    { minLength: 1 },
  ),
  JOB_INDEX_MAINTENANCE_SCHEDULE: optionalString('Cron schedule of index-maintenance (default daily at 03:00)', {
    minLength: 1,
  }),
  JOB_VACUUM_ANALYZE_SCHEDULE: optionalString('Cron schedule of vacuum-analyze (default hourly)', { minLength: 1 }),
  JOB_HEALTH_CHECK_SCHEDULE: optionalString('Cron schedule of health-check (default every 15 seconds)', {
    minLength: 1,
  }),
  JOB_RETENTION_SCHEDULE: optionalString('Cron schedule of retention (default daily at 03:30)', { minLength: 1 }),
  MAINTENANCE_LOCK_TIMEOUT_MS: int(
    5_000,
    10,
    600_000,
    'lock_timeout of maintenance statements (VACUUM, REINDEX, retention deletes)',
  ),
  MAINTENANCE_STATEMENT_TIMEOUT_MS: int(900_000, 100, 86_400_000, 'statement_timeout of maintenance statements'),
  VACUUM_MIN_DEAD_TUPLES: int(
    1_000,
    0,
    2_000_000_000,
    'vacuum-analyze: a table needs at least this many dead tuples to be vacuumed',
  ),
  VACUUM_DEAD_TUPLE_RATIO: Type.Number({
    default: 0.1,
    minimum: 0,
    maximum: 1,
    description: 'vacuum-analyze: ... and dead tuples / all tuples at least this (0..1)',
  }),
  ANALYZE_MIN_CHANGES: int(
    1_000,
    0,
    2_000_000_000,
    'vacuum-analyze: rows changed since the last analyze before statistics count as stale',
  ),
  ANALYZE_CHANGE_RATIO: Type.Number({
    default: 0.1,
    minimum: 0,
    maximum: 1,
    description: 'vacuum-analyze: ... and changed rows / live rows at least this (0..1)',
  }),
  INDEX_BLOAT_RATIO: Type.Number({
    default: 0.5,
    minimum: 0,
    maximum: 1,
    description:
      'index-maintenance: rebuild a b-tree index when its estimated bloat is at least this share of its size',
  }),
  INDEX_BLOAT_MIN_BYTES: int(
    10 * 1_048_576,
    0,
    Number.MAX_SAFE_INTEGER,
    'index-maintenance: ... and at least this many bytes',
  ),
  INDEX_UNUSED_MIN_BYTES: int(
    1_048_576,
    0,
    Number.MAX_SAFE_INTEGER,
    'Report indexes never scanned once they are this large',
  ),
  RETENTION_ANALYTICS_DAYS: int(30, 1, 36_500, 'retention: delete analytics events older than this'),
  RETENTION_JOB_RUNS_DAYS: int(30, 1, 36_500, 'retention: delete job runs older than this'),
  RETENTION_ALERT_EVENTS_DAYS: int(90, 1, 36_500, 'retention: delete alert history older than this'),
  RETENTION_OUTBOX_DAYS: int(7, 1, 36_500, 'retention: delete delivered notifications older than this'),
  RETENTION_BATCH_SIZE: int(5_000, 1, 1_000_000, 'retention: rows deleted per statement'),
  DB_LONG_QUERY_S: int(60, 1, 86_400, 'Database insights: a query running longer than this counts as long-running'),
  // Alerts
  ALERT_RULES_FILE: optionalString(
    'YAML rules seeded into the database on first start (default alerts/rules/default.yaml)',
    { minLength: 1 },
  ),
  ALERT_WEBHOOK_URL: optionalString(
    'Send alert notifications to this webhook (a receiver named "webhook"; more via /api/alerts/receivers)',
    { pattern: '^https?://' },
  ),
  ALERT_WEBHOOK_SECRET: optionalString(
    'Sign ALERT_WEBHOOK_URL notifications: X-Signature-256 and Standard Webhooks headers (a whsec_ secret is base64 of its key)',
    { minLength: 1 },
  ),
  ALERT_WEBHOOK_FORMAT: Type.Union([Type.Literal('alertmanager'), Type.Literal('slack')], {
    default: 'alertmanager',
    description: 'Body of ALERT_WEBHOOK_URL notifications: alertmanager (webhook v4) or slack ({ text })',
  }),
  ALERT_RECEIVER_ALLOW_PRIVATE: Type.Boolean({
    default: true,
    description:
      'Receivers may be on loopback and private networks (127/8, ::1, 10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10); link-local and cloud metadata addresses are always refused',
  }),
  ALERT_SMTP_TLS_VERIFY: Type.Boolean({
    default: true,
    description:
      "Email receivers verify the SMTP server's TLS certificate; false accepts self-signed ones (an internal relay)",
  }),
  ALERT_DELIVERY_TIMEOUT_MS: int(
    5_000,
    100,
    120_000,
    'A webhook request slower than this counts as failed and is retried',
  ),
  ALERT_RETRY_BASE_MS: int(1_000, 10, 600_000, 'First retry delay of a failed notification; doubles each attempt'),
  ALERT_RETRY_MAX_DELAY_MS: int(300_000, 10, 86_400_000, 'Longest delay between two attempts'),
  ALERT_RETRY_WINDOW_S: int(86_400, 1, 30 * 86_400, 'Keep retrying a notification this long before marking it failed'),
  ALERT_DELIVERY_POLL_MS: int(
    1_000,
    10,
    600_000,
    'How often the delivery worker looks for notifications due for a retry',
  ),
})

export type Env = Static<typeof EnvSchema>

export interface Config {
  host: string
  port: number
  logLevel: Env['LOG_LEVEL']
  instanceId: string
  publicUrl: string
  /** Whether PUBLIC_URL was set (false: publicUrl is the http://HOST:PORT guess). */
  publicUrlConfigured: boolean
  dataDir: string
  database: {
    url: string | undefined
    schema: string
    poolSize: number
    statementTimeoutMs: number
    connectTimeoutMs: number
  }
  redis: { url: string | undefined; commandTimeoutMs: number }
  cachePrefix: string
  auth: {
    adminToken: string | undefined
    sessionSecret: string | undefined
    sessionTtlHours: number
    signinRateLimitPerMinute: number
    failureLimit: number
    failureWindowSeconds: number
  }
  metricsToken: string | undefined
  bodyLimitBytes: number
  /** Whose X-Forwarded-For entries are believed: the proxies' addresses, or a number of hops (0 = none). */
  trustProxy: number | string[]
  maxEventLoopDelayMs: number
  shutdownTimeoutMs: number
  live: { maxConnections: number; maxConnectionsPerToken: number }
  fleet: { heartbeatMs: number; leaderLockTtlMs: number }
  usage: { pricesFile: string | undefined; metricsPerToken: boolean }
  chat: {
    provider: Env['CHAT_PROVIDER']
    maxContentChars: number
    historyMessages: number
    maxOutputTokens: number
    /** CHAT_DEFAULT_*: the limits of a token that sets none of its own (absent: unlimited). */
    defaultLimits: { rpm?: number; tpm?: number; concurrency?: number }
    simulated: { tokensPerSecond: number; firstTokenMs: number; errorRate: number }
    openai: { baseUrl: string; apiKey: string | undefined; model: string; timeoutMs: number; maxRetries: number }
    pool: {
      file: string | undefined
      maxAttempts: number
      circuit: { failures: number; errorRatio: number; cooldownMs: number }
    }
  }
  cache: {
    l1MaxEntries: number
    l1MaxBytes: number
    ttlSeconds: Record<'ai_response' | 'models' | 'conversation' | 'session' | 'search', number>
    /** CACHE_SCOPE: whether the caller's scope joins the response cache's key. */
    scope: Env['CACHE_SCOPE']
  }
  metrics: {
    sampleIntervalMs: number
    signalWindowSeconds: number
    seriesRetentionMinutes: number
    slowRequestMs: number
    slowQueryMs: number
  }
  jobs: {
    enabled: boolean
    /** Schedules from JOB_<NAME>_SCHEDULE, by job name ('cache-warm', ...). */
    schedules: Record<string, string | undefined>
  }
  maintenance: {
    lockTimeoutMs: number
    statementTimeoutMs: number
    vacuum: { minDeadTuples: number; deadTupleRatio: number; analyzeMinChanges: number; analyzeChangeRatio: number }
    indexes: { bloatRatio: number; bloatMinBytes: number; unusedMinBytes: number }
    retentionDays: { analyticsEvents: number; jobRuns: number; alertEvents: number; deliveredOutbox: number }
    retentionBatchSize: number
    longQuerySeconds: number
  }
  alerts: {
    rulesFile: string | undefined
    webhook: { url: string | undefined; secret: string | undefined; format: Env['ALERT_WEBHOOK_FORMAT'] }
    /** ALERT_RECEIVER_ALLOW_PRIVATE. */
    receiverAllowPrivate: boolean
    /** ALERT_SMTP_TLS_VERIFY. */
    smtpTlsVerify: boolean
    delivery: { timeoutMs: number; retryBaseMs: number; retryMaxDelayMs: number; retryWindowMs: number; pollMs: number }
  }
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

function describeExpected(schema: TSchema): string {
  if (schema.anyOf) return `one of ${schema.anyOf.map((s: TSchema) => JSON.stringify(s.const)).join(', ')}`
  const parts: string[] = []
  if (schema.type === 'integer') parts.push('an integer')
  else if (schema.type === 'number') parts.push('a number')
  else if (schema.type === 'boolean') parts.push('true or false')
  else parts.push('a string')
  if (schema.minimum !== undefined) parts.push(`>= ${schema.minimum}`)
  if (schema.exclusiveMinimum !== undefined) parts.push(`> ${schema.exclusiveMinimum}`)
  if (schema.maximum !== undefined) parts.push(`<= ${schema.maximum}`)
  if (schema.minLength !== undefined) parts.push(`of at least ${schema.minLength} characters`)
  if (schema.pattern !== undefined) parts.push(`matching ${schema.pattern}`)
  return parts.join(' ')
}

/** The names @fastify/proxy-addr knows for address ranges. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

function parseTrustProxy(value: string): number | string[] {
  if (value === 'false') return 0
  if (value === 'true') return 1 // was "trust every hop"; one proxy is what that nearly always meant
  if (/^[0-9]+$/.test(value)) return Number(value)
  const entries = value.split(',').map((e) => e.trim())
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/')
    const family = isIP(address)
    const prefixOk =
      prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32))
    if (!(PROXY_RANGE_NAMES.has(entry) || (family !== 0 && prefixOk && extra === undefined))) {
      throw new ConfigError(
        `Invalid configuration: TRUST_PROXY=${JSON.stringify(value)} — ${JSON.stringify(entry)} is not an IP address, a CIDR range or one of loopback, linklocal, uniquelocal`,
      )
    }
  }
  return entries
}

/** Reads the environment into a typed Config, or throws one ConfigError naming the variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key]
    if (value !== undefined && value !== '') raw[key] = value.trim()
  }
  const withDefaults = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw)) as Record<string, unknown>
  const first = Value.Errors(EnvSchema, withDefaults).First()
  if (first) {
    const name = first.path.replace(/^\//, '')
    const schema = (EnvSchema.properties as Record<string, TSchema>)[name]
    const expected = schema ? describeExpected(schema) : first.message
    throw new ConfigError(`Invalid configuration: ${name}=${JSON.stringify(source[name] ?? '')} — expected ${expected}`)
  }
  const env = withDefaults as Env
  return {
    host: env.HOST,
    port: env.PORT,
    logLevel: env.LOG_LEVEL,
    instanceId: env.INSTANCE_ID ?? `${hostname()}-${process.pid}`,
    publicUrl: (env.PUBLIC_URL ?? `http://${env.HOST === '0.0.0.0' ? 'localhost' : env.HOST}:${env.PORT}`).replace(
      /\/$/,
      '',
    ),
    publicUrlConfigured: env.PUBLIC_URL !== undefined,
    dataDir: resolve(env.DATA_DIR),
    database: {
      url: env.DATABASE_URL,
      schema: env.DATABASE_SCHEMA,
      poolSize: env.DB_POOL_SIZE,
      statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
    },
    redis: { url: env.REDIS_URL, commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS },
    cachePrefix: env.CACHE_PREFIX,
    auth: {
      adminToken: env.ADMIN_TOKEN,
      sessionSecret: env.SESSION_SECRET,
      sessionTtlHours: env.SESSION_TTL_HOURS,
      signinRateLimitPerMinute: env.SIGNIN_RATE_LIMIT_PER_MINUTE,
      failureLimit: env.AUTH_FAILURE_LIMIT,
      failureWindowSeconds: env.AUTH_FAILURE_WINDOW_S,
    },
    metricsToken: env.METRICS_TOKEN,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    maxEventLoopDelayMs: env.MAX_EVENT_LOOP_DELAY_MS,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    live: { maxConnections: env.LIVE_MAX_CONNECTIONS, maxConnectionsPerToken: env.LIVE_MAX_CONNECTIONS_PER_TOKEN },
    fleet: { heartbeatMs: env.INSTANCE_HEARTBEAT_MS, leaderLockTtlMs: env.LEADER_LOCK_TTL_MS },
    usage: { pricesFile: env.MODEL_PRICES_FILE, metricsPerToken: env.METRICS_PER_TOKEN },
    chat: {
      provider: env.CHAT_PROVIDER,
      maxContentChars: env.CHAT_MAX_CONTENT_CHARS,
      historyMessages: env.CHAT_HISTORY_MESSAGES,
      maxOutputTokens: env.CHAT_MAX_OUTPUT_TOKENS,
      defaultLimits: {
        rpm: env.CHAT_DEFAULT_RPM,
        tpm: env.CHAT_DEFAULT_TPM,
        concurrency: env.CHAT_DEFAULT_CONCURRENCY,
      },
      simulated: {
        tokensPerSecond: env.SIM_TOKENS_PER_SECOND,
        firstTokenMs: env.SIM_FIRST_TOKEN_MS,
        errorRate: env.SIM_ERROR_RATE,
      },
      openai: {
        baseUrl: env.OPENAI_BASE_URL.replace(/\/$/, ''),
        apiKey: env.OPENAI_API_KEY,
        model: env.OPENAI_MODEL,
        timeoutMs: env.OPENAI_TIMEOUT_MS,
        maxRetries: env.OPENAI_MAX_RETRIES,
      },
      pool: {
        file: env.UPSTREAMS_FILE,
        maxAttempts: env.POOL_MAX_ATTEMPTS,
        circuit: {
          failures: env.POOL_CIRCUIT_FAILURES,
          errorRatio: env.POOL_CIRCUIT_ERROR_RATIO,
          cooldownMs: env.POOL_CIRCUIT_COOLDOWN_MS,
        },
      },
    },
    cache: {
      l1MaxEntries: env.CACHE_L1_MAX_ENTRIES,
      l1MaxBytes: env.CACHE_L1_MAX_BYTES,
      ttlSeconds: {
        ai_response: env.CACHE_TTL_AI_RESPONSE_S,
        models: env.CACHE_TTL_MODELS_S,
        conversation: env.CACHE_TTL_CONVERSATION_S,
        session: env.CACHE_TTL_SESSION_S,
        search: env.CACHE_TTL_SEARCH_S,
      },
      scope: env.CACHE_SCOPE,
    },
    metrics: {
      sampleIntervalMs: env.SAMPLE_INTERVAL_MS,
      signalWindowSeconds: env.SIGNAL_WINDOW_S,
      seriesRetentionMinutes: env.SERIES_RETENTION_MINUTES,
      slowRequestMs: env.SLOW_REQUEST_MS,
      slowQueryMs: env.SLOW_QUERY_MS,
    },
    jobs: {
      enabled: env.JOBS_ENABLED,
      schedules: {
        'cache-warm': env.JOB_CACHE_WARM_SCHEDULE,
        'index-maintenance': env.JOB_INDEX_MAINTENANCE_SCHEDULE,
        'vacuum-analyze': env.JOB_VACUUM_ANALYZE_SCHEDULE,
        'health-check': env.JOB_HEALTH_CHECK_SCHEDULE,
        retention: env.JOB_RETENTION_SCHEDULE,
      },
    },
    maintenance: {
      lockTimeoutMs: env.MAINTENANCE_LOCK_TIMEOUT_MS,
      statementTimeoutMs: env.MAINTENANCE_STATEMENT_TIMEOUT_MS,
      vacuum: {
        minDeadTuples: env.VACUUM_MIN_DEAD_TUPLES,
        deadTupleRatio: env.VACUUM_DEAD_TUPLE_RATIO,
        analyzeMinChanges: env.ANALYZE_MIN_CHANGES,
        analyzeChangeRatio: env.ANALYZE_CHANGE_RATIO,
      },
      indexes: {
        bloatRatio: env.INDEX_BLOAT_RATIO,
        bloatMinBytes: env.INDEX_BLOAT_MIN_BYTES,
        unusedMinBytes: env.INDEX_UNUSED_MIN_BYTES,
      },
      retentionDays: {
        analyticsEvents: env.RETENTION_ANALYTICS_DAYS,
        jobRuns: env.RETENTION_JOB_RUNS_DAYS,
        alertEvents: env.RETENTION_ALERT_EVENTS_DAYS,
        deliveredOutbox: env.RETENTION_OUTBOX_DAYS,
      },
      retentionBatchSize: env.RETENTION_BATCH_SIZE,
      longQuerySeconds: env.DB_LONG_QUERY_S,
    },
    alerts: {
      rulesFile: env.ALERT_RULES_FILE,
      webhook: { url: env.ALERT_WEBHOOK_URL, secret: env.ALERT_WEBHOOK_SECRET, format: env.ALERT_WEBHOOK_FORMAT },
      receiverAllowPrivate: env.ALERT_RECEIVER_ALLOW_PRIVATE,
      smtpTlsVerify: env.ALERT_SMTP_TLS_VERIFY,
      delivery: {
        timeoutMs: env.ALERT_DELIVERY_TIMEOUT_MS,
        retryBaseMs: env.ALERT_RETRY_BASE_MS,
        retryMaxDelayMs: env.ALERT_RETRY_MAX_DELAY_MS,
        retryWindowMs: env.ALERT_RETRY_WINDOW_S * 1000,
        pollMs: env.ALERT_DELIVERY_POLL_MS,
      },
    },
  }
}
