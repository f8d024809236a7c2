import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll } from 'vitest'
import { useTestApp, type TestApp } from './app.js'
import type { Backend } from './store.js'
import { waitFor } from './wait.js'

export { waitFor } from './wait.js'

/** What the receiver does with one request: answer with this status, or read the body and cut the connection. */
export type ReceiverAnswer = number | 'destroy'

/** A request the local receiver got. */
export interface ReceivedRequest {
  /** Date.now() when the body had arrived. */
  at: number
  path: string
  headers: IncomingHttpHeaders
  body: string
  json: any
  idempotencyKey: string
  /** What the receiver answered. */
  status: ReceiverAnswer
}

export interface TestReceiver {
  url: string
  port: number
  requests: ReceivedRequest[]
  /**
   * Decides each answer from the request number (0-based), the request, and how many requests
   * with the same Idempotency-Key came before it; default 200.
   */
  respond: (index: number, request: Omit<ReceivedRequest, 'status' | 'at'>, earlier: number) => ReceiverAnswer
  /** The body of every answer, when set (default: `ok`, or `refused with <status>`). */
  replyBody: string | null
  /** TCP connections accepted so far (a refused receiver must see none). */
  connections: number
  close(): Promise<void>
}

/** A real webhook receiver on localhost (port 0 = any free port; pass one to reopen a port). */
export async function startReceiver(port = 0): Promise<TestReceiver> {
  const receiver: TestReceiver = {
    url: '',
    port: 0,
    requests: [],
    respond: () => 200,
    replyBody: null,
    connections: 0,
    close: async () => {},
  }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      let json: unknown = null
      try {
        json = JSON.parse(body)
      } catch {
        json = null
      }
      const idempotencyKey = String(req.headers['idempotency-key'] ?? '')
      const seen = { path: req.url ?? '', headers: req.headers, body, json, idempotencyKey }
      const earlier = receiver.requests.filter((r) => r.idempotencyKey === idempotencyKey).length
      const status = receiver.respond(receiver.requests.length, seen, earlier)
      receiver.requests.push({ ...seen, at: Date.now(), status })
      if (status === 'destroy') req.socket.destroy()
      else
        res
          .writeHead(status, { 'content-type': 'text/plain' })
          .end(receiver.replyBody ?? (status >= 400 ? `refused with ${status}` : 'ok'))
    })
  })
  server.on('connection', () => receiver.connections++)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  receiver.port = (server.address() as AddressInfo).port
  receiver.url = `http://127.0.0.1:${receiver.port}`
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return receiver
}

/** With Redis, alerting runs on the fleet leader only: make this app the leader now. */
export async function lead(app: FastifyInstance): Promise<void> {
  if (app.hasDecorator('fleet')) await waitFor('leadership', () => app.fleet.leader.attempt())
}

export type ControlledSignal = ReturnType<typeof controlledSignal>

/**
 * A signal the test controls: `set(value)` changes what the next snapshot carries under
 * `test_signal` (optionally per label set).
 */
export function controlledSignal(app: FastifyInstance, name = 'test_signal') {
  let samples: Array<{ labels: Record<string, string>; value: number | null }> = []
  app.sampler.addSource(name, () => samples.map((s) => ({ name, ...s })))
  return {
    set(value: number | null, labels: Record<string, string> = {}) {
      samples = [{ labels, value }]
    },
    setMany(values: Array<{ labels: Record<string, string>; value: number | null }>) {
      samples = values
    },
  }
}

/** One sampler tick at `now`, evaluated. */
export async function tickAndEvaluate(app: FastifyInstance, now: number): Promise<void> {
  await app.sampler.tick(now)
  await app.alerts.evaluator.idle()
}

/** Settings that keep the sampler's own timer out of the way of a test that ticks by hand. */
export const MANUAL_TICKS = { SAMPLE_INTERVAL_MS: '60000' }

/** Writes a rules file for ALERT_RULES_FILE (so the default rules, on real machine signals, stay out of the test). */
export function rulesFile(rules: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ccp-alert-rules-'))
  const path = join(dir, 'rules.yaml')
  writeFileSync(path, rules)
  return path
}

/** A rule on the controlled signal: fires while test_signal > 1. */
export const TEST_RULE = `
  - name: TestHigh
    signal: test_signal
    op: ">"
    threshold: 1
    severity: warning
    annotations:
      summary: "{{ $labels.case }} is at {{ $value }}"
`

/**
 * Sampled time ticked by hand: each tick `stepMs` after the last and never behind real time,
 * so that a silence made "now" applies to the next tick.
 */
export function manualClock() {
  let now = Date.now()
  return {
    async tick(app: FastifyInstance, stepMs = 1000): Promise<number> {
      now = Math.max(now + stepMs, Date.now())
      await tickAndEvaluate(app, now)
      return now
    },
  }
}

export interface AlertingTestApp {
  t: TestApp
  /** test_signal, which TEST_RULE watches. */
  signal: ControlledSignal
  /** One sampler tick (see manualClock), evaluated; returns its time. */
  tick(stepMs?: number): Promise<number>
  /** Sets test_signal to `value` for `{ case: caseName }` and ticks. */
  fire(caseName: string, value?: number): Promise<number>
}

/**
 * The app of an alerting describe block (useTestApp): the sampler ticked by hand, the rules
 * `rules` (TEST_RULE by default) from ALERT_RULES_FILE, this app the leader, a controlled
 * test_signal.
 */
export function useAlertingApp(
  backend: Backend,
  options: { rules?: string; env?: Record<string, string> } = {},
): AlertingTestApp {
  const t = useTestApp(backend, () => ({
    env: { ...MANUAL_TICKS, ALERT_RULES_FILE: rulesFile(`rules:${options.rules ?? TEST_RULE}`), ...options.env },
  }))
  const clock = manualClock()
  let signal: ControlledSignal | undefined
  const alerting: AlertingTestApp = {
    t,
    get signal() {
      if (!signal) throw new Error('the controlled signal exists once beforeAll has run')
      return signal
    },
    tick: (stepMs) => clock.tick(t.app, stepMs),
    async fire(caseName, value = 5) {
      alerting.signal.set(value, { case: caseName })
      return alerting.tick()
    },
  }
  beforeAll(async () => {
    signal = controlledSignal(t.app)
    await lead(t.app)
  })
  return alerting
}

/** Starts webhook receivers for a describe block and closes them all in afterAll. */
export function useReceivers(): (port?: number) => Promise<TestReceiver> {
  const open: TestReceiver[] = []
  afterAll(async () => {
    await Promise.all(open.map((r) => r.close()))
  })
  return async (port = 0) => {
    const receiver = await startReceiver(port)
    open.push(receiver)
    return receiver
  }
}

/** Receivers and notifications through the API: create (expects 201) and a receiver's notifications, by status. */
export function receiverApi(t: TestApp) {
  return {
    async create(body: Record<string, unknown>): Promise<Record<string, any>> {
      const res = await t.request('POST', '/api/alerts/receivers', body)
      if (res.statusCode !== 201) throw new Error(`receiver not created: ${res.statusCode} ${res.body}`)
      return res.json().receiver
    },
    async notificationsOf(receiver: string, status = ''): Promise<Array<Record<string, any>>> {
      const query = `receiver=${receiver}${status ? `&status=${status}` : ''}`
      return (await t.request('GET', `/api/alerts/notifications?${query}`)).json().notifications
    },
  }
}
