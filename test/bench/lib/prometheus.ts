import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { freePort, RUN_DIR, startProc, type Proc } from './procs.js'

/** Debian's packages (prometheus, prometheus-alertmanager); upstream names as a fallback. */
export const PROMETHEUS_BIN = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => existsSync(p))
export const ALERTMANAGER_BIN = [
  '/usr/bin/prometheus-alertmanager',
  '/usr/bin/alertmanager',
  '/usr/local/bin/alertmanager',
].find((p) => existsSync(p))

export const BENCH_ALERT = 'BenchConnections'

export interface PairOptions {
  id: string
  /** host:port of the service to scrape. */
  target: string
  /** 'defaults': nothing set (1m scrape and evaluation, group_wait 30s); 'tuned': 1s, 1s, 0s. */
  mode: 'defaults' | 'tuned'
  /** Where Alertmanager posts its notifications. */
  webhookUrl: string
}

export interface PrometheusPair {
  id: string
  prometheus: Proc
  alertmanager: Proc
  /** Resolves once Prometheus has scraped the target successfully. */
  targetUp(timeoutMs: number): Promise<boolean>
  stop(): Promise<void>
}

/**
 * One Prometheus and one Alertmanager, as a user would run them next to the service, with
 * the rule that mirrors ours: websocket_active_connections > 0, for 0s.
 */
export async function startPair(options: PairOptions): Promise<PrometheusPair> {
  if (!PROMETHEUS_BIN || !ALERTMANAGER_BIN) throw new Error('prometheus / alertmanager not installed')
  const dir = join(RUN_DIR, `prom-${options.id}`)
  mkdirSync(join(dir, 'data'), { recursive: true })
  mkdirSync(join(dir, 'am-data'), { recursive: true })
  const tuned = options.mode === 'tuned'
  const [promPort, amPort] = [await freePort(), await freePort()]

  writeFileSync(
    join(dir, 'alertmanager.yml'),
    stringify({
      route: {
        receiver: 'bench',
        group_by: ['alertname'],
        ...(tuned ? { group_wait: '0s', group_interval: '1s', repeat_interval: '1h' } : {}),
      },
      receivers: [{ name: 'bench', webhook_configs: [{ url: options.webhookUrl, send_resolved: true }] }],
    }),
  )
  writeFileSync(
    join(dir, 'rules.yml'),
    // A group name per pair: Prometheus derives each group's evaluation phase from it.
    stringify({
      groups: [
        {
          name: `bench-${options.id}`,
          rules: [{ alert: BENCH_ALERT, expr: 'websocket_active_connections > 0', labels: { severity: 'info' } }],
        },
      ],
    }),
  )
  writeFileSync(
    join(dir, 'prometheus.yml'),
    stringify({
      // The external label changes the scrape phase from pair to pair (Prometheus hashes it in).
      global: {
        external_labels: { pair: options.id },
        ...(tuned ? { scrape_interval: '1s', evaluation_interval: '1s' } : {}),
      },
      rule_files: [join(dir, 'rules.yml')],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
      scrape_configs: [{ job_name: 'chat-control-plane', static_configs: [{ targets: [options.target] }] }],
    }),
  )
  const alertmanager = await startProc({
    name: `alertmanager-${options.id}`,
    command: [
      ALERTMANAGER_BIN,
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    port: amPort,
    readyPath: '/-/ready',
  })
  const prometheus = await startProc({
    name: `prometheus-${options.id}`,
    command: [
      PROMETHEUS_BIN,
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ],
    port: promPort,
    readyPath: '/-/ready',
  })
  return {
    id: options.id,
    prometheus,
    alertmanager,
    async targetUp(timeoutMs) {
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline) {
        const body = (await fetch(`${prometheus.url}/api/v1/targets`).then(
          (r) => r.json(),
          () => null,
        )) as { data?: { activeTargets?: Array<{ health: string }> } } | null
        if (body?.data?.activeTargets?.some((t) => t.health === 'up')) return true
        await new Promise((r) => setTimeout(r, 200))
      }
      return false
    },
    async stop() {
      await Promise.all([prometheus.stop(), alertmanager.stop()])
    },
  }
}
