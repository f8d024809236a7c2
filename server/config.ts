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
  INSTANCE_ID: optionalString('Name of this instance in metrics, logs and the dashboard (default hostname-pid)', { minLength: 1 }),
  PUBLIC_URL: optionalString('URL users reach the dashboard at; used in alert links (default http://HOST:PORT)', { pattern: '^https?://' }),
  DATA_DIR: Type.String({ default: './data', minLength: 1, description: 'Where the embedded database and local state live' }),
  DATABASE_URL: optionalString('postgres:// URL of a real PostgreSQL; unset = embedded PGlite in DATA_DIR/pglite', { pattern: '^postgres(ql)?://' }),
  DATABASE_SCHEMA: Type.String({ default: 'public', pattern: '^[a-z_][a-z0-9_]{0,62}$', description: 'Postgres schema holding our tables' }),
  DB_POOL_SIZE: int(10, 1, 500, 'Connections in the Postgres pool'),
  DB_STATEMENT_TIMEOUT_MS: int(30_000, 100, 3_600_000, 'statement_timeout for every pooled connection'),
  DB_CONNECT_TIMEOUT_MS: int(5_000, 100, 120_000, 'Give up connecting to Postgres after this long'),
  REDIS_URL: optionalString('redis:// URL; unset = in-process cache only, single instance', { pattern: '^rediss?://' }),
  REDIS_COMMAND_TIMEOUT_MS: int(500, 10, 60_000, 'A Redis command slower than this fails and the cache falls back to L1'),
  CACHE_PREFIX: Type.String({ default: 'ccp:', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9:_.-]+$', description: 'Every Redis key we write starts with this' }),
  ADMIN_TOKEN: optionalString('Use this as the admin API token instead of generating one (at least 32 characters)', { minLength: 32 }),
  SESSION_SECRET: optionalString('Signs dashboard session cookies (at least 32 characters; default: generated once and stored in the database)', { minLength: 32 }),
  SESSION_TTL_HOURS: int(12, 1, 24 * 30, 'Dashboard sign-in lasts this long'),
  METRICS_TOKEN: optionalString('When set, GET /metrics requires Authorization: Bearer <METRICS_TOKEN>', { minLength: 16 }),
  BODY_LIMIT_BYTES: int(1_048_576, 1024, 100 * 1_048_576, 'Largest accepted request body'),
  SIGNIN_RATE_LIMIT_PER_MINUTE: int(10, 1, 10_000, 'Sign-in attempts allowed per client address per minute'),
  TRUST_PROXY: Type.Boolean({ default: false, description: 'Trust X-Forwarded-* headers (behind a load balancer)' }),
  MAX_EVENT_LOOP_DELAY_MS: int(1_000, 0, 60_000, 'Answer 503 + Retry-After while the event loop lags more than this (0 = off)'),
  SHUTDOWN_TIMEOUT_MS: int(10_000, 100, 600_000, 'On SIGTERM, wait this long for in-flight requests'),
  // Chat
  CHAT_PROVIDER: Type.Union([Type.Literal('simulated'), Type.Literal('openai')], { default: 'simulated', description: 'simulated (no LLM needed) or openai (any OpenAI-compatible upstream)' }),
  CHAT_MAX_CONTENT_CHARS: int(32_000, 1, 1_000_000, 'Longest accepted message content'),
  CHAT_HISTORY_MESSAGES: int(20, 1, 500, 'Recent messages sent to the provider with each new message'),
  SIM_TOKENS_PER_SECOND: Type.Number({ default: 50, exclusiveMinimum: 0, maximum: 100_000, description: 'Simulated provider: streaming speed' }),
  SIM_FIRST_TOKEN_MS: int(200, 0, 60_000, 'Simulated provider: delay before the first token'),
  SIM_ERROR_RATE: Type.Number({ default: 0, minimum: 0, maximum: 1, description: 'Simulated provider: share of requests that fail (0..1)' }),
  OPENAI_BASE_URL: Type.String({ default: 'https://api.openai.com/v1', pattern: '^https?://', description: 'OpenAI-compatible upstream (OpenAI, Ollama, vLLM, llama.cpp server)' }),
  OPENAI_API_KEY: optionalString('API key for the upstream'),
  OPENAI_MODEL: Type.String({ default: 'gpt-4o-mini', minLength: 1, description: 'Model used when a request names none' }),
  OPENAI_TIMEOUT_MS: int(60_000, 100, 600_000, 'Upstream request timeout'),
  OPENAI_MAX_RETRIES: int(2, 0, 10, 'Retries on 429/5xx before the first token'),
  // Cache
  CACHE_L1_MAX_ENTRIES: int(10_000, 1, 10_000_000, 'In-process cache: most entries'),
  CACHE_L1_MAX_BYTES: int(64 * 1_048_576, 1024, 8 * 1024 * 1_048_576, 'In-process cache: most bytes'),
  CACHE_TTL_AI_RESPONSE_S: int(3600, 1, 30 * 86_400, 'TTL of cached chat completions'),
  CACHE_TTL_MODELS_S: int(300, 1, 30 * 86_400, 'TTL of the models list'),
  CACHE_TTL_CONVERSATION_S: int(1800, 1, 30 * 86_400, 'TTL of cached conversations'),
  CACHE_TTL_SESSION_S: int(1800, 1, 30 * 86_400, 'TTL of cached sessions'),
  CACHE_TTL_SEARCH_S: int(600, 1, 30 * 86_400, 'TTL of cached searches'),
  // Metrics
  SAMPLE_INTERVAL_MS: int(1_000, 100, 60_000, 'How often the sampler computes a snapshot (alerts are evaluated on each)'),
  SIGNAL_WINDOW_S: int(60, 5, 3_600, 'Sliding window for rates, ratios and percentiles'),
  SERIES_RETENTION_MINUTES: int(60, 1, 24 * 60, 'In-memory history kept per signal'),
  SLOW_REQUEST_MS: int(1_000, 1, 600_000, 'Log requests slower than this at warn'),
  SLOW_QUERY_MS: int(200, 1, 600_000, 'Log database queries slower than this at warn'),
})

export type Env = Static<typeof EnvSchema>

export interface Config {
  host: string
  port: number
  logLevel: Env['LOG_LEVEL']
  instanceId: string
  publicUrl: string
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
  auth: { adminToken: string | undefined; sessionSecret: string | undefined; sessionTtlHours: number; signinRateLimitPerMinute: number }
  metricsToken: string | undefined
  bodyLimitBytes: number
  trustProxy: boolean
  maxEventLoopDelayMs: number
  shutdownTimeoutMs: number
  chat: {
    provider: Env['CHAT_PROVIDER']
    maxContentChars: number
    historyMessages: number
    simulated: { tokensPerSecond: number; firstTokenMs: number; errorRate: number }
    openai: { baseUrl: string; apiKey: string | undefined; model: string; timeoutMs: number; maxRetries: number }
  }
  cache: {
    l1MaxEntries: number
    l1MaxBytes: number
    ttlSeconds: Record<'ai_response' | 'models' | 'conversation' | 'session' | 'search', number>
  }
  metrics: { sampleIntervalMs: number; signalWindowSeconds: number; seriesRetentionMinutes: number; slowRequestMs: number; slowQueryMs: number }
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
    publicUrl: (env.PUBLIC_URL ?? `http://${env.HOST === '0.0.0.0' ? 'localhost' : env.HOST}:${env.PORT}`).replace(/\/$/, ''),
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
    },
    metricsToken: env.METRICS_TOKEN,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    trustProxy: env.TRUST_PROXY,
    maxEventLoopDelayMs: env.MAX_EVENT_LOOP_DELAY_MS,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    chat: {
      provider: env.CHAT_PROVIDER,
      maxContentChars: env.CHAT_MAX_CONTENT_CHARS,
      historyMessages: env.CHAT_HISTORY_MESSAGES,
      simulated: { tokensPerSecond: env.SIM_TOKENS_PER_SECOND, firstTokenMs: env.SIM_FIRST_TOKEN_MS, errorRate: env.SIM_ERROR_RATE },
      openai: {
        baseUrl: env.OPENAI_BASE_URL.replace(/\/$/, ''),
        apiKey: env.OPENAI_API_KEY,
        model: env.OPENAI_MODEL,
        timeoutMs: env.OPENAI_TIMEOUT_MS,
        maxRetries: env.OPENAI_MAX_RETRIES,
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
    },
    metrics: {
      sampleIntervalMs: env.SAMPLE_INTERVAL_MS,
      signalWindowSeconds: env.SIGNAL_WINDOW_S,
      seriesRetentionMinutes: env.SERIES_RETENTION_MINUTES,
      slowRequestMs: env.SLOW_REQUEST_MS,
      slowQueryMs: env.SLOW_QUERY_MS,
    },
  }
}
