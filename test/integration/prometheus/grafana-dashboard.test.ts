import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { createMetrics } from '../../../server/metrics/definitions.js'
import {
  PROMTOOL,
  REPO_ROOT,
  allPanels,
  loadDashboard,
  panelQueries,
  runTool,
  substituteVariables,
  type GrafanaPanel,
} from '../../helpers/prometheus.js'

const dashboard = loadDashboard()
const queries = panelQueries(dashboard)
const panels = allPanels(dashboard)
const dataPanels = panels.filter((p) => p.type !== 'row')

/** Series names the service exports: every metric in server/metrics/definitions.ts plus prom-client's defaults. */
async function exportedSeriesNames(): Promise<Set<string>> {
  const metrics = createMetrics({ instanceId: 'names' })
  const names = new Set<string>()
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name)
    if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(m.name + suffix)
  }
  metrics.registry.clear()
  return names
}

/** Metric names used as selectors in a PromQL expression (`name{...}`). */
const selectorsIn = (expr: string) =>
  [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)].map((m) => ({ name: m[1]!, matchers: m[2]! }))

/** Rows in order, each with the panels below it (rows are expanded, so panels follow by position). */
function rows(): Array<{ title: string; panels: GrafanaPanel[] }> {
  const sorted = [...dashboard.panels].sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x)
  const result: Array<{ title: string; panels: GrafanaPanel[] }> = []
  for (const p of sorted) {
    if (p.type === 'row') result.push({ title: p.title, panels: [...(p.panels ?? [])] })
    else result.at(-1)?.panels.push(p)
  }
  return result
}

describe('grafana provisioning', () => {
  it('provisions a Prometheus data source', () => {
    const doc = parse(readFileSync(join(REPO_ROOT, 'grafana/provisioning/datasources/prometheus.yaml'), 'utf8'))
    expect(doc.apiVersion).toBe(1)
    expect(doc.datasources).toHaveLength(1)
    const [source] = doc.datasources
    expect(source).toMatchObject({ type: 'prometheus', access: 'proxy' })
    expect(source.url).toMatch(/^https?:\/\//)
    expect(source.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/)
  })

  it('provisions the dashboards folder from files', () => {
    const doc = parse(readFileSync(join(REPO_ROOT, 'grafana/provisioning/dashboards/control-plane.yaml'), 'utf8'))
    expect(doc.apiVersion).toBe(1)
    const [provider] = doc.providers
    expect(provider).toMatchObject({ type: 'file', orgId: 1 })
    expect(provider.options.path).toMatch(/^\//)
  })
})

describe('grafana dashboard JSON', () => {
  it('is a Grafana dashboard with a stable uid and a current schema version', () => {
    expect(dashboard.uid).toBe('chat-control-plane')
    expect(dashboard.title).toBeTruthy()
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36)
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(41)
    const ids = panels.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('has template variables for the data source, job and instance', () => {
    const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]))
    expect(vars.datasource).toMatchObject({ type: 'datasource', query: 'prometheus' })
    expect(vars.job).toMatchObject({ type: 'query', datasource: { type: 'prometheus', uid: '${datasource}' } })
    expect(JSON.stringify(vars.job!.query)).toContain('label_values(')
    expect(vars.instance).toMatchObject({
      type: 'query',
      includeAll: true,
      datasource: { type: 'prometheus', uid: '${datasource}' },
    })
    // The instance list follows the chosen job.
    expect(JSON.stringify(vars.instance!.query)).toContain('job=~\\"$job\\"')
    // Grafana shows `definition` and runs `query.query`: they must be the same query.
    for (const v of [vars.job!, vars.instance!]) expect(v.definition).toBe((v.query as { query: string }).query)
  })

  it('has the rows the issue asks for, in order, each with panels', () => {
    const found = rows()
    expect(found.map((r) => r.title)).toEqual([
      'HTTP',
      'Chat',
      'Cache',
      'Database',
      'Jobs',
      'Alerts',
      'System',
      'Upstreams',
    ])
    for (const row of found) expect(row.panels.length, row.title).toBeGreaterThan(0)
  })

  it('shows, in each row, the metrics that row is about', () => {
    const metricsByRow = Object.fromEntries(
      rows().map((r) => [
        r.title,
        new Set(
          r.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => selectorsIn(t.expr ?? '').map((s) => s.name))),
        ),
      ]),
    )
    const expected: Record<string, string[]> = {
      HTTP: ['http_requests_total', 'http_request_duration_seconds_bucket'],
      Chat: ['chat_requests_total', 'chat_time_to_first_token_seconds_bucket', 'chat_tokens_total'],
      Cache: ['cache_requests_total'],
      Database: ['database_query_duration_seconds_bucket', 'db_pool_connections'],
      Jobs: ['job_runs_total', 'job_duration_seconds_bucket', 'job_last_success_timestamp_seconds'],
      Alerts: ['alerts_active', 'health_check_up'],
      System: [
        'system_cpu_usage_ratio',
        'system_memory_usage_ratio',
        'system_disk_usage_ratio',
        'nodejs_eventloop_lag_p99_seconds',
        'process_resident_memory_bytes',
      ],
      Upstreams: [
        'upstream_requests_total',
        'upstream_request_duration_seconds_bucket',
        'upstream_in_flight',
        'upstream_circuit_state',
        'upstream_up',
      ],
    }
    for (const [row, names] of Object.entries(expected))
      for (const name of names) expect([...metricsByRow[row]!], `${row} row`).toContain(name)
    const http = rows().find((r) => r.title === 'HTTP')!
    const httpExprs = http.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n')
    for (const q of ['0.5', '0.95', '0.99']) expect(httpExprs).toContain(`histogram_quantile(${q},`)
    expect(httpExprs).toContain('by (method, route)')
  })

  it('queries the chosen data source from every panel and target', () => {
    for (const p of dataPanels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' })
      expect(p.targets?.length, p.title).toBeGreaterThan(0)
      const refIds = p.targets!.map((t) => t.refId)
      expect(new Set(refIds).size, p.title).toBe(refIds.length)
      for (const t of p.targets!) {
        expect(t.datasource, `${p.title} ${t.refId}`).toEqual({ type: 'prometheus', uid: '${datasource}' })
        expect(t.expr?.trim(), `${p.title} ${t.refId}`).toBeTruthy()
      }
    }
  })

  it('filters every series by the job and instance variables', () => {
    for (const q of queries) {
      const selectors = selectorsIn(q.expr)
      expect(selectors.length, `${q.panel} ${q.refId}`).toBeGreaterThan(0)
      for (const s of selectors) {
        expect(s.matchers, `${q.panel} ${q.refId}: ${s.name}`).toContain('job=~"$job"')
        expect(s.matchers, `${q.panel} ${q.refId}: ${s.name}`).toContain('instance=~"$instance"')
      }
    }
  })

  it('only uses metrics the service exports', async () => {
    const exported = await exportedSeriesNames()
    for (const q of queries)
      for (const s of selectorsIn(q.expr))
        expect(exported.has(s.name), `${q.panel}: ${s.name} is not exported`).toBe(true)
  })

  it('lays panels out on the 24-column grid without overlaps', () => {
    const cells = new Set<string>()
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos
      expect(x + w, p.title).toBeLessThanOrEqual(24)
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `${p.title} overlaps another panel at ${i},${j}`).toBe(false)
          cells.add(`${i},${j}`)
        }
    }
  })
})

describe('grafana dashboard PromQL', () => {
  it('parses: every panel expression, variables substituted, is valid PromQL to promtool', async () => {
    // promtool has no offline query parser, but `check rules` parses each rule's expr.
    const dir = mkdtempSync(join(tmpdir(), 'ccp-dashboard-'))
    try {
      const rules = queries.map((q, i) => ({
        record: `dashboard:panel_${i}`,
        expr: substituteVariables(q.expr, {
          job: 'chat-control-plane',
          instance: '127.0.0.1:3000',
          rateInterval: '1m',
        }),
      }))
      writeFileSync(join(dir, 'panels.yml'), stringify({ groups: [{ name: 'dashboard', rules }] }))
      const { code, stdout, stderr } = await runTool(PROMTOOL, ['check', 'rules', join(dir, 'panels.yml')])
      expect(code, stderr + stdout).toBe(0)
      expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
