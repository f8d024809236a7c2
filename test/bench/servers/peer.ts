/**
 * The peers we measure against, one per process: `tsx test/bench/servers/peer.ts <variant>`,
 * listening on PORT. Each is the plain way to do the same job, so the ratio shows what our
 * code costs on top of it.
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { WebSocket } from 'ws'

// Each variant imports what it uses, so that a peer's memory is its own (the memory scenario).
const fastify = async () => (await import('fastify')).default

const variant = process.argv[2]
const port = Number(process.env.PORT)
const host = '127.0.0.1'
const HELLO = { hello: 'world' }

/** GET /hello, the route of fastify's own benchmarks. */
function helloRoute(app: FastifyInstance): void {
  app.get('/hello', async () => HELLO)
}

async function listen(app: FastifyInstance): Promise<void> {
  await app.listen({ host, port })
}

const variants: Record<string, () => Promise<void>> = {
  /** node:http, the baseline fastify publishes its own ratio against. */
  async 'node-http'() {
    const body = JSON.stringify(HELLO)
    createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
      res.end(body)
    }).listen(port, host)
  },

  async fastify() {
    const app = (await fastify())({ logger: false })
    helloRoute(app)
    await listen(app)
  },

  /**
   * Our HTTP instrumentation (server/metrics: registry with default metrics, onResponse hook,
   * /metrics) on a bare fastify. With LOGGING=1 also pino request logging at info, as the
   * service logs by default (the instrumentation baseline when the app has no switch).
   */
  async 'fastify-ours'() {
    const { createMetrics } = await import('../../../server/metrics/definitions.js')
    const { expositionRoute } = await import('../../../server/metrics/exposition-route.js')
    const { instrumentHttp } = await import('../../../server/metrics/http-instrumentation.js')
    const app = (await fastify())({ logger: process.env.LOGGING === '1' ? { level: 'info' } : false })
    const metrics = createMetrics({ instanceId: 'bench' })
    instrumentHttp(app, metrics, 1_000)
    await app.register(expositionRoute, { metrics, token: undefined, beforeScrape: () => {} })
    helloRoute(app)
    await listen(app)
  },

  /** fastify-metrics 12 as its README registers it; FM_SUMMARY=0 turns off its per-route summary. */
  async 'fastify-metrics'() {
    // A CommonJS module with `exports.default`: Node's ESM import hands over module.exports.
    const module = await import('fastify-metrics')
    const fastifyMetrics = (module.default as unknown as { default: FastifyPluginAsync<Record<string, unknown>> })
      .default
    const app = (await fastify())({ logger: false })
    const summary = process.env.FM_SUMMARY !== '0'
    await app.register(fastifyMetrics, {
      endpoint: '/metrics',
      ...(summary ? {} : { routeMetrics: { enabled: { histogram: true, summary: false } } }),
    })
    helloRoute(app)
    await listen(app)
  },

  /**
   * The cache hit done by hand: a bare fastify POST route that parses the same JSON body,
   * does one ioredis GET of the answer stored for its prompt (auto-pipelining, as our client)
   * and returns those bytes.
   */
  async 'redis-get'() {
    const { Redis } = await import('ioredis')
    const redis = new Redis(process.env.REDIS_URL!, { enableAutoPipelining: true, lazyConnect: true })
    await redis.connect()
    const prefix = process.env.PEER_PREFIX!
    const app = (await fastify())({ logger: false })
    app.post<{ Body: { messages: Array<{ content: string }> } }>('/v1/chat/completions', async (request, reply) => {
      const raw = await redis.get(`${prefix}${request.body.messages[0]?.content}`)
      if (raw === null) return reply.code(404).send({ error: 'missing' })
      return reply.type('application/json; charset=utf-8').send(raw)
    })
    app.get('/hello', async () => HELLO)
    await listen(app)
  },

  /**
   * A local OpenAI-compatible upstream: a fixed completion, as JSON or as an SSE stream of
   * chunks (our provider always streams from the upstream).
   */
  async 'mock-openai'() {
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`)
    const content = words.join(' ')
    const created = Math.floor(Date.now() / 1000)
    const usage = { prompt_tokens: 12, completion_tokens: words.length, total_tokens: 12 + words.length }
    const completion = (model: string) =>
      JSON.stringify({
        id: 'chatcmpl-bench',
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
        usage,
      })
    const chunk = (model: string, delta: object, finish: string | null, withUsage = false) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }], ...(withUsage ? { usage } : {}) })}\n\n`
    createServer((req, res) => {
      if (req.method === 'GET' && req.url?.endsWith('/models')) {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(
          JSON.stringify({
            object: 'list',
            data: [{ id: 'bench-model', object: 'model', created, owned_by: 'bench' }],
          }),
        )
        return
      }
      if (req.method !== 'POST') {
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.end('ok')
        return
      }
      let raw = ''
      req.setEncoding('utf8')
      req.on('data', (d) => (raw += d))
      req.on('end', () => {
        let body: { model?: string; stream?: boolean } = {}
        try {
          body = JSON.parse(raw)
        } catch {
          // answer anyway: the bench only sends valid JSON
        }
        const model = body.model ?? 'bench-model'
        if (!body.stream) {
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(completion(model))
          return
        }
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        let out = chunk(model, { role: 'assistant', content: '' }, null)
        words.forEach((w, i) => (out += chunk(model, { content: i === 0 ? w : ` ${w}` }, null)))
        out += chunk(model, {}, 'stop', true)
        out += 'data: [DONE]\n\n'
        res.end(out)
      })
    }).listen(port, host)
  },

  /**
   * A bare `ws` server broadcasting FRAME_FILE once per INTERVAL_MS to every client, its
   * `"at"` set to the send time: the same frame our hub sends, without a hub.
   */
  async 'ws-broadcast'() {
    const template = readFileSync(process.env.FRAME_FILE!, 'utf8')
    const intervalMs = Number(process.env.INTERVAL_MS ?? 1000)
    const http = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('ok')
    })
    const { WebSocketServer } = await import('ws')
    const wss = new WebSocketServer({ server: http, path: '/api/live' })
    const clients = new Set<WebSocket>()
    wss.on('connection', (socket) => {
      clients.add(socket)
      socket.on('close', () => clients.delete(socket))
    })
    setInterval(() => {
      if (clients.size === 0) return
      const frame = template.replace(/"at":\d+/, `"at":${Date.now()}`)
      for (const socket of clients) if (socket.readyState === socket.OPEN) socket.send(frame)
    }, intervalMs)
    http.listen(port, host)
  },
}

const start = variant ? variants[variant] : undefined
if (!start) {
  console.error(`unknown variant ${variant}; one of ${Object.keys(variants).join(', ')}`)
  process.exit(2)
}
await start()
process.on('SIGTERM', () => process.exit(0))
