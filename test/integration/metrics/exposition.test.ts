import { createRequire } from 'node:module'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, createTestApp, type TestApp } from '../../helpers/app.js'
import { PROMTOOL, runTool } from '../../helpers/prometheus.js'

interface Family {
  name: string
  type: string
  metrics: Array<{ labels?: Record<string, string>; value?: string }>
}
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[]

/**
 * Sample lines of one series name (e.g. a histogram's `_count`) with their labels. The parser
 * above folds a labelled histogram's label sets together, so histograms are read from the text.
 */
function sampleLines(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const lines: Array<{ labels: Record<string, string>; value: number }> = []
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
    )
    lines.push({ labels, value: Number(match[3]) })
  }
  return lines
}

/** The metric names are the contract with Grafana and the Prometheus rules. */
const TABLE: Array<[name: string, type: string]> = [
  ['http_request_duration_seconds', 'HISTOGRAM'],
  ['http_requests_total', 'COUNTER'],
  ['websocket_active_connections', 'GAUGE'],
  ['database_query_duration_seconds', 'HISTOGRAM'],
  ['db_pool_connections', 'GAUGE'],
  ['cache_requests_total', 'COUNTER'],
  ['cache_hit_ratio', 'GAUGE'],
  ['chat_requests_total', 'COUNTER'],
  ['chat_completion_duration_seconds', 'HISTOGRAM'],
  ['chat_time_to_first_token_seconds', 'HISTOGRAM'],
  ['chat_tokens_total', 'COUNTER'],
  ['job_runs_total', 'COUNTER'],
  ['job_duration_seconds', 'HISTOGRAM'],
  ['job_last_success_timestamp_seconds', 'GAUGE'],
  ['health_check_up', 'GAUGE'],
  ['health_check_latency_seconds', 'GAUGE'],
  ['alerts_active', 'GAUGE'],
  ['alert_notifications_total', 'COUNTER'],
  ['system_cpu_usage_ratio', 'GAUGE'],
  ['system_memory_usage_ratio', 'GAUGE'],
  ['system_disk_usage_ratio', 'GAUGE'],
  ['budget_used_ratio', 'GAUGE'],
]

describe.each(backends)('GET /metrics ($name)', (backend) => {
  let t: TestApp
  let text: string
  let families: Map<string, Family>
  const samples = (name: string) => families.get(name)?.metrics ?? []

  beforeAll(async () => {
    // A long interval keeps the timer out of the way; the test ticks the sampler itself.
    t = await createTestApp(backend, {
      env: { SAMPLE_INTERVAL_MS: '60000', SIM_FIRST_TOKEN_MS: '0', SIM_TOKENS_PER_SECOND: '100000' },
    })
    const { app } = t
    await app.inject({ method: 'GET', url: '/health/live' })
    await app.inject({ method: 'GET', url: '/api/auth/me' }) // 401 from the auth hook
    await app.inject({ method: 'GET', url: '/api/auth/me', headers: t.auth() })
    await app.inject({ method: 'GET', url: '/no/such/route/123' })
    await app.inject({ method: 'GET', url: '/api/health', headers: t.auth() })
    const chat = { model: undefined, messages: [{ role: 'user', content: 'How do metrics work?' }] }
    for (let i = 0; i < 2; i++) {
      const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: t.auth(), payload: chat })
      expect(res.statusCode).toBe(200)
    }
    await app.db.selectFrom('audit_log').select('id').limit(1).execute()
    await app.sampler.tick()
    await app.inject({ method: 'GET', url: '/metrics' }) // a scrape, which must not count itself
    const res = await app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/plain')
    text = res.body
    families = new Map(parsePrometheus(text).map((f) => [f.name, f]))
  })
  afterAll(async () => t?.close())

  it('parses as Prometheus text and declares every metric of the table with its type', () => {
    for (const [name, type] of TABLE) expect(families.get(name)?.type, name).toBe(type)
    expect(families.has('process_cpu_seconds_total')).toBe(true)
    expect(families.has('nodejs_eventloop_lag_p99_seconds')).toBe(true)
  })

  it('counts HTTP responses by route template, 401s from the auth hook and unmatched routes included', () => {
    const count = (route: string, status: string) =>
      samples('http_requests_total').find((m) => m.labels?.route === route && m.labels?.status_code === status)?.value
    expect(count('/health/live', '200')).toBe('1')
    expect(count('/api/auth/me', '401')).toBe('1')
    expect(count('/api/auth/me', '200')).toBe('1')
    expect(count('__unmatched__', '404')).toBe('1')
    expect(count('/v1/chat/completions', '200')).toBe('2')
    const routes = samples('http_requests_total').map((m) => m.labels?.route)
    expect(routes).not.toContain('/metrics')
    expect(routes.some((r) => r?.includes('123'))).toBe(false)
    const timed = sampleLines(text, 'http_request_duration_seconds_count').find(
      (m) => m.labels.route === '/health/live',
    )
    expect(timed?.value).toBe(1)
  })

  it('times database queries by statement type and table, and shows the pool', () => {
    const audit = sampleLines(text, 'database_query_duration_seconds_count').find(
      (m) => m.labels.query_type === 'select' && m.labels.table === 'audit_log',
    )
    expect(audit?.value).toBeGreaterThanOrEqual(1)
    const states = Object.fromEntries(samples('db_pool_connections').map((m) => [m.labels?.state, Number(m.value)]))
    expect(Object.keys(states).sort()).toEqual(['idle', 'total', 'waiting'])
    expect(states.total).toBeGreaterThanOrEqual(1)
    expect(states.waiting).toBeGreaterThanOrEqual(0)
  })

  it('shows chat and cache traffic, and the hit ratio the sampler computed', () => {
    const chatOk = samples('chat_requests_total').filter((m) => m.labels?.status === 'ok')
    expect(chatOk.reduce((n, m) => n + Number(m.value), 0)).toBe(2)
    expect(samples('chat_tokens_total').some((m) => m.labels?.direction === 'output' && Number(m.value) > 0)).toBe(true)
    const total = (name: string) => sampleLines(text, name).reduce((n, m) => n + m.value, 0)
    expect(total('chat_completion_duration_seconds_count')).toBe(2)
    expect(total('chat_time_to_first_token_seconds_count')).toBeGreaterThanOrEqual(1)
    expect(
      samples('cache_requests_total').some((m) => m.labels?.cache_type === 'ai_response' && m.labels?.result === 'hit'),
    ).toBe(true)
    const ratio = samples('cache_hit_ratio').find((m) => m.labels?.cache_type === 'ai_response')
    expect(Number(ratio?.value)).toBeGreaterThan(0)
    expect(Number(ratio?.value)).toBeLessThanOrEqual(1)
  })

  it('holds the system gauges with ratios between 0 and 1', () => {
    for (const name of ['system_cpu_usage_ratio', 'system_memory_usage_ratio', 'system_disk_usage_ratio']) {
      const [sample] = samples(name)
      expect(Number(sample?.value), name).toBeGreaterThanOrEqual(0)
      expect(Number(sample?.value), name).toBeLessThanOrEqual(1)
    }
    expect(samples('system_disk_usage_ratio')[0]?.labels?.mount).toMatch(/^\//)
  })

  it('passes promtool check metrics without lint problems', async () => {
    const result = await runTool(PROMTOOL, ['check', 'metrics'], { input: text })
    expect(result.stdout + result.stderr).toBe('')
    expect(result.code).toBe(0)
  })

  it('never logs SQL parameters in the slow-query log', async () => {
    const slow = await createTestApp(backend, {
      captureLogs: true,
      env: { SLOW_QUERY_MS: '1', SAMPLE_INTERVAL_MS: '60000' },
    })
    try {
      await slow.app.db
        .selectFrom('audit_log')
        .select('id')
        // A constant condition is a one-time filter: it sleeps even when no row matches.
        .where(sql<boolean>`(select pg_sleep(0.02)) is not null`)
        .where('action', '=', 'secret-parameter-value')
        .execute()
      const lines = slow.logs.filter((l) => l.msg === 'slow database query')
      const audit = lines.find((l) => l.table === 'audit_log')
      expect(audit).toMatchObject({ level: 40, queryType: 'select', table: 'audit_log' })
      expect(JSON.stringify(lines)).not.toContain('secret-parameter-value')
    } finally {
      await slow.close()
    }
  })
})
