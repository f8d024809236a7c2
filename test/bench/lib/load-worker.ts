/**
 * The load generator: a separate process (pinned away from the servers) that the
 * orchestrator drives over IPC. One operation at a time; each answers with plain numbers.
 */
import { randomBytes } from 'node:crypto'
import { Agent, request as httpRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import WebSocket from 'ws'
import { distribution } from './stats.js'
import type {
  HttpLoad,
  HttpResult,
  LoadRequest,
  SequentialLoad,
  SequentialResult,
  WsMeasureResult,
  WsOpenResult,
} from './load-types.js'

async function httpLoad(op: HttpLoad): Promise<HttpResult> {
  let scrapes = 0
  let scrapeErrors = 0
  let timer: NodeJS.Timeout | undefined
  if (op.scrape) {
    const { url, intervalMs, headers } = op.scrape
    const scrapeOnce = () =>
      fetch(url, { headers }).then(
        async (r) => {
          await r.text()
          if (r.ok) scrapes++
          else scrapeErrors++
        },
        () => scrapeErrors++,
      )
    void scrapeOnce()
    timer = setInterval(scrapeOnce, intervalMs)
  }
  const bodies = op.bodies
  let next = 0
  const method = (op.method ?? 'GET') as autocannon.Request['method']
  try {
    const result = await autocannon({
      url: op.url,
      method,
      headers: op.headers,
      body: op.body,
      ...(bodies?.length
        ? {
            requests: [
              { method, setupRequest: (req: autocannon.Request) => ({ ...req, body: bodies[next++ % bodies.length] }) },
            ],
          }
        : {}),
      connections: op.connections,
      pipelining: op.pipelining ?? 1,
      duration: op.durationSec,
      ...(op.overallRate ? { overallRate: op.overallRate } : {}),
      idReplacement: op.idReplacement ?? false,
      timeout: op.timeoutSec ?? 10,
    })
    const ok = result['2xx']
    return {
      okPerSec: ok / result.duration,
      requestsPerSec: result.requests.average,
      latencyMs: {
        mean: result.latency.average,
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        max: result.latency.max,
      },
      ok,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      durationSec: result.duration,
      scrapes,
      scrapeErrors,
    }
  } finally {
    if (timer) clearInterval(timer)
  }
}

/**
 * One request at a time on one keep-alive connection, timed with hrtime to the microsecond
 * (autocannon's histogram has 1 ms resolution, too coarse for sub-millisecond overheads).
 */
async function sequential(op: SequentialLoad): Promise<SequentialResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const url = new URL(op.url)
  const run = randomBytes(4).toString('hex')
  let n = 0
  let failures = 0
  let lastFailure = ''
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const body = op.body === undefined ? undefined : op.body.replaceAll('{{seq}}', `${run}-${n++}`)
      const started = process.hrtime.bigint()
      const req = httpRequest(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: op.method ?? 'GET',
          headers: { ...op.headers, ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }) },
        },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (d) => (text += d))
          res.on('end', () => {
            const micros = Number(process.hrtime.bigint() - started) / 1000
            if ((res.statusCode ?? 0) >= 300) reject(new Error(`${res.statusCode}: ${text.slice(0, 300)}`))
            else resolve(micros)
          })
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  for (let i = 0; i < (op.warmup ?? 0); i++) await once().catch(() => {})
  const latencies: number[] = []
  const deadline = Date.now() + op.durationMs
  while (Date.now() < deadline && (op.maxRequests === undefined || latencies.length < op.maxRequests)) {
    try {
      latencies.push(await once())
    } catch (err) {
      failures++
      lastFailure = err instanceof Error ? err.message : String(err)
      if (failures > 20) break
    }
  }
  agent.destroy()
  return { latencyUs: distribution(latencies), failures, lastFailure }
}

interface WsGroup {
  sockets: WebSocket[]
  collecting: boolean
  delays: number[]
  frames: number
  /** Distinct snapshots seen (their `at`): frames per snapshot does not depend on where the window cuts the ticks. */
  snapshots: Set<string>
  closedEarly: number
}
const groups = new Map<number, WsGroup>()
let nextGroup = 1

async function wsOpen(op: Extract<LoadRequest, { op: 'ws-open' }>): Promise<WsOpenResult> {
  const group: WsGroup = { sockets: [], collecting: false, delays: [], frames: 0, snapshots: new Set(), closedEarly: 0 }
  const handle = nextGroup++
  groups.set(handle, group)
  const marker = op.marker
  const atPattern = /"at":(\d+)/
  const started = Date.now()
  let failed = 0
  let lastError = ''
  const connectOne = () =>
    new Promise<void>((resolve) => {
      const socket = new WebSocket(op.url, { headers: op.headers, perMessageDeflate: false })
      socket.on('message', (data: Buffer) => {
        if (!group.collecting) return
        const now = Date.now()
        // Only the head of the frame: parsing 1,000 copies of a snapshot per tick would make the
        // load generator, not the server, the source of delay.
        const head = data.toString('latin1', 0, 200)
        if (!head.startsWith(marker)) return
        const at = atPattern.exec(head)?.[1]
        if (at === undefined) return
        group.frames++
        group.snapshots.add(at)
        group.delays.push(now - Number(at))
      })
      socket.once('open', () => {
        group.sockets.push(socket)
        resolve()
      })
      socket.once('error', (err) => {
        failed++
        lastError = err.message
        resolve()
      })
      socket.on('close', () => {
        if (group.collecting) group.closedEarly++
      })
    })
  const concurrency = op.concurrency ?? 50
  for (let i = 0; i < op.clients; i += concurrency) {
    await Promise.all(Array.from({ length: Math.min(concurrency, op.clients - i) }, connectOne))
  }
  return { handle, connected: group.sockets.length, failed, lastError, connectMs: Date.now() - started }
}

async function wsMeasure(op: Extract<LoadRequest, { op: 'ws-measure' }>): Promise<WsMeasureResult> {
  const group = groups.get(op.handle)
  if (!group) throw new Error(`no socket group ${op.handle}`)
  group.delays = []
  group.frames = 0
  group.snapshots = new Set()
  group.closedEarly = 0
  group.collecting = true
  await sleep(op.durationMs)
  group.collecting = false
  const open = group.sockets.filter((s) => s.readyState === WebSocket.OPEN).length
  const snapshots = group.snapshots.size
  return {
    delayMs: distribution(group.delays),
    frames: group.frames,
    framesPerSec: group.frames / (op.durationMs / 1000),
    snapshots,
    framesPerSnapshot: snapshots ? group.frames / snapshots : 0,
    open,
    closedEarly: group.closedEarly,
  }
}

async function wsClose(op: Extract<LoadRequest, { op: 'ws-close' }>): Promise<{ closed: number }> {
  const group = groups.get(op.handle)
  if (!group) return { closed: 0 }
  groups.delete(op.handle)
  await Promise.all(
    group.sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.readyState === WebSocket.CLOSED) return resolve()
          const timer = setTimeout(() => {
            s.terminate()
            resolve()
          }, 3_000)
          s.once('close', () => {
            clearTimeout(timer)
            resolve()
          })
          s.close()
        }),
    ),
  )
  return { closed: group.sockets.length }
}

async function handle(message: LoadRequest): Promise<unknown> {
  switch (message.op) {
    case 'http':
      return httpLoad(message)
    case 'sequential':
      return sequential(message)
    case 'ws-open':
      return wsOpen(message)
    case 'ws-measure':
      return wsMeasure(message)
    case 'ws-close':
      return wsClose(message)
  }
}

process.on('message', (envelope: { id: number; request: LoadRequest }) => {
  handle(envelope.request).then(
    (result) => process.send!({ id: envelope.id, result }),
    (err: unknown) =>
      process.send!({ id: envelope.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  )
})
process.on('disconnect', () => process.exit(0))
process.send!({ ready: true })
