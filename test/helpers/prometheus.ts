import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse, stringify } from 'yaml'
import { freePort, REPO_ROOT, startProcess } from './process.js'

export { REPO_ROOT } from './process.js'

/**
 * Debian's prometheus and prometheus-alertmanager packages, which .ci/run installs. The tests
 * that need them always run: on a machine without them they fail, saying what to install.
 */
export const PROMTOOL = '/usr/bin/promtool'
export const PROMETHEUS = '/usr/bin/prometheus'
export const AMTOOL = '/usr/bin/amtool'
/** prometheus-alertmanager (Debian's name), or upstream's `alertmanager`. */
const ALERTMANAGER_PATHS = ['/usr/bin/prometheus-alertmanager', '/usr/bin/alertmanager', '/usr/local/bin/alertmanager']
const PACKAGE_OF: Record<string, string> = {
  [PROMTOOL]: 'prometheus',
  [PROMETHEUS]: 'prometheus',
  [AMTOOL]: 'prometheus-alertmanager',
}

/** The binary's path; throws, naming the Debian package, when it is not installed. */
export function installed(bin: string): string {
  if (existsSync(bin)) return bin
  throw new Error(`${bin} is not installed: apt-get install -y ${PACKAGE_OF[bin] ?? bin} (.ci/run installs it)`)
}

function alertmanagerBinary(): string {
  const found = ALERTMANAGER_PATHS.find((p) => existsSync(p))
  if (!found)
    throw new Error(`${ALERTMANAGER_PATHS.join(' or ')}: not installed: apt-get install -y prometheus-alertmanager`)
  return found
}

/** The command line of a Prometheus on 127.0.0.1:`port`, its data under `dataDir`. */
export function prometheusArgv(configFile: string, dataDir: string, port: number): string[] {
  return [
    installed(PROMETHEUS),
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]
}

/** The command line of a lone Alertmanager (no cluster) on 127.0.0.1:`port`. */
export function alertmanagerArgv(configFile: string, dataDir: string, port: number): string[] {
  return [
    alertmanagerBinary(),
    `--config.file=${configFile}`,
    `--storage.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ]
}

export interface RunningTool {
  url: string
  output(): string
  stop(): Promise<void>
}

/** Starts Prometheus or Alertmanager with a config in a temporary directory, ready once /-/ready answers. */
async function startWithConfig(
  name: string,
  config: string | ((dir: string) => string),
  argv: (configFile: string, dataDir: string, port: number) => string[],
): Promise<RunningTool> {
  const dir = mkdtempSync(join(tmpdir(), `ccp-${name}-`))
  const configFile = join(dir, `${name}.yml`)
  writeFileSync(configFile, typeof config === 'function' ? config(dir) : config)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const removeDir = () => rmSync(dir, { recursive: true, force: true })
  const proc = await startProcess({
    name,
    argv: argv(configFile, join(dir, 'data'), port),
    readyUrl: `${url}/-/ready`,
    timeoutMs: 30_000,
  }).catch((err: unknown) => {
    removeDir()
    throw err
  })
  return {
    url,
    output: () => proc.output(),
    async stop() {
      await proc.stop()
      removeDir()
    },
  }
}
export const PROMETHEUS_DIR = join(REPO_ROOT, 'prometheus')
export const RULES_FILE = join(PROMETHEUS_DIR, 'rules/control-plane.rules.yml')
export const DASHBOARD_FILE = join(REPO_ROOT, 'grafana/dashboards/control-plane.json')

export interface ToolResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a binary to completion, optionally feeding `input` on stdin. */
export function runTool(
  bin: string,
  args: string[],
  options: { input?: string; cwd?: string } = {},
): Promise<ToolResult> {
  installed(bin)
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { cwd: options.cwd ?? REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }))
    child.stdin.end(options.input ?? '')
  })
}

export interface PromSample {
  metric: Record<string, string>
  value: [number, string]
}

export interface ScrapeTarget {
  health: string
  lastError: string
  labels: Record<string, string>
}

export interface RunningPrometheus extends RunningTool {
  /** Instant query through /api/v1/query; throws on a PromQL error. */
  query(expr: string): Promise<PromSample[]>
  targets(): Promise<ScrapeTarget[]>
  /** Names of the rule groups Prometheus loaded, with their rules' health. */
  rules(): Promise<Array<{ name: string; type: string; health: string; lastError?: string }>>
}

export interface PrometheusOptions {
  /** host:port of the service to scrape. */
  target: string
  /** When set, the scrape sends it as a bearer token read from a file, as the shipped config describes. */
  bearerToken?: string
  /** Scrape and rule-evaluation interval (default 1s). */
  interval?: string
}

/**
 * The shipped prometheus/prometheus.yml with the test's target, a 1 s scrape and evaluation
 * interval, absolute rule paths, its commented-out bearer-token block switched on (pointing at
 * a file holding the test's token), and no Alertmanager (none runs in the test).
 */
export function testPrometheusConfig(options: PrometheusOptions, dir: string): string {
  let text = readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')
  if (options.bearerToken) {
    // Uncomment the shipped `authorization` block, as the comment above it tells people to.
    const block = /^(\s*)# (authorization:\n(?:\1# {3}.*\n)+)/m
    const match = text.match(block)
    if (!match) throw new Error('prometheus.yml has no commented-out authorization block')
    text = text.replace(block, (_all, indent: string, body: string) => indent + body.replaceAll(`${indent}# `, indent))
  }
  const config = parse(text)
  const interval = options.interval ?? '1s'
  config.global = { ...config.global, scrape_interval: interval, evaluation_interval: interval }
  config.rule_files = (config.rule_files as string[]).map((p) => resolve(PROMETHEUS_DIR, p))
  delete config.alerting
  const [job] = config.scrape_configs
  job.scrape_interval = interval
  job.scrape_timeout = interval
  job.static_configs = [{ targets: [options.target] }]
  if (options.bearerToken) {
    if (job.authorization?.type !== 'Bearer' || !job.authorization.credentials_file)
      throw new Error(`unexpected authorization block: ${JSON.stringify(job.authorization)}`)
    const tokenFile = join(dir, 'metrics.token')
    writeFileSync(tokenFile, `${options.bearerToken}\n`, { mode: 0o600 })
    job.authorization.credentials_file = tokenFile
  }
  return stringify(config)
}

/** Starts a real Prometheus on a free loopback port and waits until it is ready. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const prometheus = await startWithConfig('prometheus', (dir) => testPrometheusConfig(options, dir), prometheusArgv)
  const { url } = prometheus

  async function api<T>(path: string): Promise<T> {
    const res = await fetch(`${url}${path}`)
    const body = (await res.json()) as { status: string; data: T; error?: string }
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`)
    return body.data
  }

  return {
    ...prometheus,
    async query(expr) {
      const data = await api<{ resultType: string; result: PromSample[] }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      )
      return data.result
    },
    async targets() {
      const data = await api<{ activeTargets: ScrapeTarget[] }>('/api/v1/targets?state=active')
      return data.activeTargets
    },
    async rules() {
      const data = await api<{
        groups: Array<{
          name: string
          rules: Array<{ name: string; type: string; health: string; lastError?: string }>
        }>
      }>('/api/v1/rules')
      return data.groups.flatMap((g) => g.rules)
    },
  }
}

/** A real Alertmanager, routing everything at once to one webhook. */
export function startAlertmanager(webhookUrl: string): Promise<RunningTool> {
  const config = stringify({
    route: {
      receiver: 'hook',
      group_by: ['alertname'],
      group_wait: '100ms',
      group_interval: '1s',
      repeat_interval: '1h',
    },
    receivers: [{ name: 'hook', webhook_configs: [{ url: webhookUrl, send_resolved: true }] }],
  })
  return startWithConfig('alertmanager', config, alertmanagerArgv)
}

/** Recording and alerting rules from a Prometheus rule file. */
export interface PromRule {
  record?: string
  alert?: string
  expr: string
  for?: string
  keep_firing_for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export function loadPrometheusRules(file = RULES_FILE): PromRule[] {
  const doc = parse(readFileSync(file, 'utf8')) as { groups: Array<{ name: string; rules: PromRule[] }> }
  return doc.groups.flatMap((g) => g.rules)
}

/** A Grafana panel query, with where it came from. */
export interface PanelQuery {
  panel: string
  refId: string
  expr: string
}

export interface GrafanaPanel {
  id: number
  type: string
  title: string
  datasource?: { type: string; uid: string }
  gridPos: { h: number; w: number; x: number; y: number }
  targets?: Array<{ refId: string; expr?: string; datasource?: { type: string; uid: string }; legendFormat?: string }>
  panels?: GrafanaPanel[]
}

export interface GrafanaDashboard {
  uid: string
  title: string
  schemaVersion: number
  panels: GrafanaPanel[]
  templating: {
    list: Array<{
      name: string
      type: string
      query: unknown
      definition?: string
      datasource?: { type: string; uid: string }
      includeAll?: boolean
      allValue?: string
    }>
  }
}

export function loadDashboard(file = DASHBOARD_FILE): GrafanaDashboard {
  return JSON.parse(readFileSync(file, 'utf8')) as GrafanaDashboard
}

/** Every panel, including those nested in collapsed rows. */
export function allPanels(dashboard: GrafanaDashboard): GrafanaPanel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])
}

export function panelQueries(dashboard: GrafanaDashboard): PanelQuery[] {
  return allPanels(dashboard).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr ?? '' })),
  )
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * Replaces the dashboard's template variables the way Grafana does before sending a query:
 * values used in `=~` matchers are regex-escaped; `$__rate_interval` becomes a window.
 */
export function substituteVariables(
  expr: string,
  values: { job: string; instance: string; rateInterval: string },
): string {
  // Inside a PromQL string literal a regex backslash is written twice.
  const literal = (s: string) => escapeRegex(s).replaceAll('\\', '\\\\')
  return expr
    .replaceAll('$__rate_interval', values.rateInterval)
    .replace(/\$\{job(?::regex)?\}|\$job\b/g, () => literal(values.job))
    .replace(/\$\{instance(?::regex)?\}|\$instance\b/g, () => literal(values.instance))
}
