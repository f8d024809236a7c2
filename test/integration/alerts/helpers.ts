import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'

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
  close(): Promise<void>
}

/** A real webhook receiver on localhost (port 0 = any free port; pass one to reopen a port). */
export async function startReceiver(port = 0): Promise<TestReceiver> {
  const receiver: TestReceiver = {
    url: '',
    port: 0,
    requests: [],
    respond: () => 200,
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
      else res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 400 ? `refused with ${status}` : 'ok')
    })
  })
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

/** Polls until `check` returns a value (not undefined/false), or fails naming what it waited for. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** With Redis, alerting runs on the fleet leader only: make this app the leader now. */
export async function lead(app: FastifyInstance): Promise<void> {
  if (app.hasDecorator('fleet')) await waitFor('leadership', () => app.fleet.leader.attempt())
}

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
