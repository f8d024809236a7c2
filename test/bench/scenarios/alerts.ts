import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import WebSocket from 'ws'
import { log } from '../lib/ab.js'
import { BENCH_ALERT, PROMETHEUS_BIN, ALERTMANAGER_BIN, startPair, type PrometheusPair } from '../lib/prometheus.js'
import { RUN_DIR } from '../lib/procs.js'
import { row, type Row } from '../lib/report.js'
import type { Outcome, Scenario } from '../lib/scenario.js'
import { startService, type Service } from '../lib/service.js'
import { settings } from '../lib/settings.js'
import { median } from '../lib/stats.js'
import { WebhookSink } from '../lib/webhook-sink.js'

/** Prometheus pairs with their defaults: one crossing, each pair's phase differs, median of these. */
const DEFAULT_PAIRS = 5
/** Defaults: ≤ 60 s to the next scrape + ≤ 60 s to the next evaluation + 30 s group_wait, and slack. */
const DEFAULTS_TIMEOUT_MS = 200_000
const ROUND_TIMEOUT_MS = 20_000
const OURS = '/ours'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Our copy of the rule Prometheus gets: the same gauge, the same threshold, no `for`. */
const RULES_YAML = `rules:
  - name: ${BENCH_ALERT}
    signal: websocket_connections
    op: ">"
    threshold: 0
    severity: info
`

/** The crossing: one dashboard connection lifts websocket_active_connections from 0 to 1. */
async function connect(service: Service): Promise<{ socket: WebSocket; at: number }> {
  const socket = new WebSocket(`${service.url.replace(/^http/, 'ws')}/api/live`, { headers: service.headers })
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
  })
  return { socket, at: Date.now() }
}

async function disconnect(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve())
    socket.close()
  })
}

interface State {
  sink: WebhookSink
  service: Service
  defaults: PrometheusPair[]
  crossing: { socket: WebSocket; at: number } | null
  /** Seconds from the crossing to each default pair's webhook (null: none within the timeout). */
  defaultLatencies: Promise<Array<number | null>>
}

let state: State | null = null

async function begin(): Promise<void> {
  const sink = await WebhookSink.start()
  const rulesFile = join(RUN_DIR, 'bench-alert-rules.yaml')
  writeFileSync(rulesFile, RULES_YAML)
  const service = await startService({
    name: 'alerts',
    env: { ALERT_RULES_FILE: rulesFile, ALERT_WEBHOOK_URL: `${sink.url}${OURS}`, SAMPLE_INTERVAL_MS: '1000' },
  })
  const target = service.url.replace('http://', '')
  const defaults: PrometheusPair[] = []
  if (PROMETHEUS_BIN && ALERTMANAGER_BIN) {
    for (let i = 0; i < DEFAULT_PAIRS; i++) {
      defaults.push(
        await startPair({
          id: `defaults-${i + 1}`,
          target,
          mode: 'defaults',
          webhookUrl: `${sink.url}/defaults-${i + 1}`,
        }),
      )
    }
  }
  const crossing = await connect(service)
  log(
    `  crossing at ${new Date(crossing.at).toISOString()}; ${defaults.length} Prometheus pairs with their defaults are watching`,
  )
  const defaultLatencies = Promise.all(
    defaults.map(async (pair) => {
      const arrival = await sink.waitFor(
        { source: `/${pair.id}`, status: 'firing', alertname: BENCH_ALERT },
        crossing.at,
        DEFAULTS_TIMEOUT_MS,
      )
      return arrival ? (arrival.at - crossing.at) / 1000 : null
    }),
  )
  state = { sink, service, defaults, crossing, defaultLatencies }
}

async function finish(): Promise<Outcome> {
  if (!state) throw new Error('alert latency: the first phase did not run')
  const { sink, service, defaults } = state
  const notes: string[] = []
  let pair: PrometheusPair | null = null
  try {
    const defaultLatencies = await state.defaultLatencies
    if (state.crossing) await disconnect(state.crossing.socket)
    await Promise.all(defaults.map((p) => p.stop()))
    await sink.waitFor(
      { source: OURS, status: 'resolved', alertname: BENCH_ALERT },
      state.crossing?.at ?? 0,
      ROUND_TIMEOUT_MS,
    )

    const installed = Boolean(PROMETHEUS_BIN && ALERTMANAGER_BIN)
    if (installed) {
      pair = await startPair({
        id: 'tuned',
        target: service.url.replace('http://', ''),
        mode: 'tuned',
        webhookUrl: `${sink.url}/tuned`,
      })
      if (!(await pair.targetUp(15_000))) throw new Error('the tuned Prometheus never scraped the service')
    } else {
      notes.push(
        'Prometheus / Alertmanager are not installed (Debian: apt install prometheus prometheus-alertmanager): only our latency is measured.',
      )
    }

    // Both sides wait for their own clock (our 1 s tick; Prometheus's scrape and evaluation
    // phases), so one crossing says little: more of them than elsewhere, ratio of medians.
    const count = 2 * settings.rounds + 1
    const rounds: Array<{ ours: number | null; tuned: number | null }> = []
    for (let i = 0; i < count; i++) {
      await sleep(1_000 + Math.random() * 1_000) // a fresh phase against both samplers
      const crossing = await connect(service)
      const [ours, tuned] = await Promise.all([
        sink.waitFor({ source: OURS, status: 'firing', alertname: BENCH_ALERT }, crossing.at, ROUND_TIMEOUT_MS),
        pair
          ? sink.waitFor({ source: '/tuned', status: 'firing', alertname: BENCH_ALERT }, crossing.at, ROUND_TIMEOUT_MS)
          : Promise.resolve(null),
      ])
      const resolvedSince = Date.now()
      await disconnect(crossing.socket)
      await Promise.all([
        sink.waitFor({ source: OURS, status: 'resolved', alertname: BENCH_ALERT }, resolvedSince, ROUND_TIMEOUT_MS),
        pair
          ? sink.waitFor(
              { source: '/tuned', status: 'resolved', alertname: BENCH_ALERT },
              resolvedSince,
              ROUND_TIMEOUT_MS,
            )
          : Promise.resolve(null),
      ])
      const seconds = (a: { at: number } | null) => (a ? (a.at - crossing.at) / 1000 : null)
      rounds.push({ ours: seconds(ours), tuned: seconds(tuned) })
      log(
        `    round ${i + 1}/${count}: ours ${rounds[i]!.ours ?? 'none'} s | tuned Prometheus ${rounds[i]!.tuned ?? 'none'} s`,
      )
    }

    const ours = median(rounds.map((r) => r.ours ?? Number.NaN))
    const rows: Row[] = []
    if (installed) {
      const a = median(defaultLatencies.map((v) => v ?? Number.NaN))
      const missing = defaultLatencies.filter((v) => v === null).length
      if (missing)
        notes.push(
          `${missing} of ${defaults.length} default pairs sent nothing within ${DEFAULTS_TIMEOUT_MS / 1000} s.`,
        )
      rows.push(
        row(
          '(a) Prometheus + Alertmanager defaults',
          's',
          ours,
          a,
          ours / a,
          { op: '<=', value: 0.05 },
          'median of 5 pairs, one crossing',
        ),
      )
      const b = median(rounds.map((r) => r.tuned ?? Number.NaN))
      rows.push(
        row(
          '(b) tuned: 1 s scrape/eval, group_wait 0',
          's',
          ours,
          b,
          ours / b,
          { op: '<=', value: 0.5 },
          `median of ${count} crossings`,
        ),
      )
    } else {
      rows.push(row('crossing → webhook', 's', ours, null, null, null))
    }
    notes.push(
      `Ours per crossing: ${rounds.map((r) => r.ours ?? '—').join(', ')} s; tuned Prometheus: ${rounds.map((r) => r.tuned ?? '—').join(', ')} s; defaults: ${defaultLatencies.map((v) => v ?? '—').join(', ')} s. Ratios are of medians: the two sides' phases are independent, so crossings are not paired.`,
    )
    return { rows, notes, rounds: { tuned: rounds, defaults: defaultLatencies } }
  } finally {
    await pair?.stop()
    await service.stop()
    await sink.stop()
    state = null
  }
}

/**
 * Threshold crossing → webhook received. Ours: the sampler's 1 s tick, the rule engine, the
 * outbox. Theirs: Prometheus scraping the same service, its rule, Alertmanager. Their
 * defaults take minutes, so that part starts before every other scenario and is collected
 * at the end.
 */
export const alerts: Scenario = {
  id: 'alerts',
  title: 'alert latency',
  ours: 'websocket_connections > 0 rule, sampler at 1 Hz, webhook receiver',
  peer: 'Prometheus 2.42 + Alertmanager 0.25 scraping the same service, same rule',
  estimateSeconds: 75,
  inSuite: true,
  begin,
  run: finish,
}
