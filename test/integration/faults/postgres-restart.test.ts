import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { generateToken } from '../../../server/auth/token-repository.js'
import { QUERY_READ_MARGIN_MS } from '../../../server/infra/db/connect.js'
import { dropTestData, uniqueName } from '../../helpers/app.js'
import { DisposablePostgres } from '../../helpers/postgres-cluster.js'
import { startService, type ServiceProcess } from '../../helpers/process.js'
import { TcpProxy } from '../../helpers/tcp-proxy.js'
import { FAST_SIM } from '../../helpers/chat.js'

/**
 * Postgres goes away under a steady load of writes and reads, against a cluster of the test's
 * own and the service as a real process, in three ways: a fast shutdown (connections closed
 * politely), an immediate shutdown (the server processes quit at once, crash recovery at the
 * start), and a network cut (a proxy between service and database stops forwarding without
 * closing anything: silence, no FIN, no RST). While the database is away, requests fail fast
 * with 503 + Retry-After; no request gets a 500 or hangs; every acknowledged write survives; a
 * failed write leaves nothing half-written; and the pool reconnects by itself, in the same
 * process.
 *
 * Runs with the shared Redis when REDIS_URL is set (own key prefix), without Redis otherwise.
 */
const CONNECT_TIMEOUT_MS = 1_000
const STATEMENT_TIMEOUT_MS = 2_000
/** Slack for a loaded 2-core machine on top of the longest configured database timeout. */
const MARGIN_MS = 3_000
/** A request with no answer after this long counts as hung (recorded, not awaited forever). */
const HANG_MS = 30_000
/** The service's read timeout on a sent query: statement_timeout + QUERY_READ_MARGIN_MS. */
const READ_TIMEOUT_MS = STATEMENT_TIMEOUT_MS + QUERY_READ_MARGIN_MS
/** "Recovers on its own within a few seconds" of Postgres accepting connections again. */
const RECOVERY_DEADLINE_MS = 10_000
const WRITERS = 4

interface FaultContext {
  cluster: DisposablePostgres
  proxy: TcpProxy
}

interface Fault {
  name: string
  /** How long the load keeps running while the database is away. */
  downMs: number
  /**
   * The longest a request may take to be told the database is unavailable: a refused or closed
   * connection is noticed at once (within the connect timeout); silence only when the read
   * timeout of a query already sent runs out.
   */
  failFastMs: number
  /** The longest any request may take: past the database timeouts that apply, it hangs. */
  slowestMs: number
  inject(context: FaultContext): Promise<void>
  heal(context: FaultContext): Promise<void>
}

const FAULTS: Fault[] = [
  {
    name: 'fast shutdown',
    downMs: 3_000,
    failFastMs: CONNECT_TIMEOUT_MS + MARGIN_MS,
    slowestMs: STATEMENT_TIMEOUT_MS + MARGIN_MS,
    inject: ({ cluster }) => cluster.stop('fast'),
    heal: ({ cluster }) => cluster.start(),
  },
  {
    name: 'immediate shutdown',
    downMs: 3_000,
    failFastMs: CONNECT_TIMEOUT_MS + MARGIN_MS,
    slowestMs: STATEMENT_TIMEOUT_MS + MARGIN_MS,
    inject: ({ cluster }) => cluster.stop('immediate'),
    heal: ({ cluster }) => cluster.start(),
  },
  {
    name: 'network cut (silent)',
    // Long enough for the pooled connections to give up and new ones to be refused in the window.
    downMs: READ_TIMEOUT_MS + 5_000,
    failFastMs: READ_TIMEOUT_MS + MARGIN_MS,
    slowestMs: READ_TIMEOUT_MS + MARGIN_MS,
    inject: async ({ proxy }) => proxy.cut({ silent: true }),
    heal: async ({ proxy }) => proxy.restore(),
  },
]
const READERS = 2
/** Pause between a worker's requests, so the load stays steady without saturating 2 cores. */
const PAUSE_MS = 40

type Op = 'create-session' | 'create-conversation' | 'post-message' | 'list-conversations' | 'list-messages' | 'ready'

interface Outcome {
  op: Op
  /** 0: no HTTP answer at all (connection error or hung past HANG_MS). */
  status: number
  error?: string
  retryAfter: string | null
  body: any
  /** performance.now() in this process when the request was sent and when its answer was read. */
  start: number
  end: number
  conversationId?: string
  content?: string
}

/** A pino line of the service's output (or a line of plain text, as msg). */
interface LogLine {
  level?: number
  msg?: string
  err?: { code?: string; message?: string }
}

const duration = (o: Outcome) => o.end - o.start
const summary = (o: Outcome) => ({
  op: o.op,
  status: o.status,
  ms: Math.round(duration(o)),
  body: o.body,
  error: o.error,
})

describe.each(FAULTS)('Postgres away under load: $name', (fault) => {
  const schema = uniqueName('pgrestart')
  const cachePrefix = `ccp-test:${uniqueName('pgrestart')}:`
  const redisUrl = process.env.REDIS_URL
  const adminToken = generateToken()
  const dataDir = mkdtempSync(join(tmpdir(), 'ccp-pg-restart-'))
  let cluster: DisposablePostgres | undefined
  let proxy: TcpProxy | undefined
  let service: ServiceProcess | undefined
  let pid: number | undefined
  const outcomes: Outcome[] = []
  /** Phase boundaries, performance.now() in this process. */
  const t = { stopBegin: 0, stopped: 0, startBegin: 0, started: 0, recovered: 0 }

  async function call(
    op: Op,
    method: string,
    path: string,
    body?: unknown,
    extra: Partial<Outcome> = {},
  ): Promise<Outcome> {
    const start = performance.now()
    let outcome: Outcome
    try {
      const res = await fetch(`${service!.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(HANG_MS),
      })
      const text = await res.text()
      let parsed: unknown = text
      try {
        parsed = JSON.parse(text)
      } catch {
        // kept as text: the assertions report it
      }
      outcome = {
        op,
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body: parsed,
        start,
        end: performance.now(),
        ...extra,
      }
    } catch (err) {
      outcome = {
        op,
        status: 0,
        error: String(err),
        retryAfter: null,
        body: null,
        start,
        end: performance.now(),
        ...extra,
      }
    }
    outcomes.push(outcome)
    return outcome
  }

  let loadRunning = true
  let messageCounter = 0

  /** Owns one session and its conversations, so each conversation's messages are written one post at a time. */
  async function writer(index: number, sessionId: string, conversations: string[]): Promise<void> {
    for (let n = 0; loadRunning; n++) {
      if (n % 5 === 0) {
        const res = await call('create-conversation', 'POST', '/api/conversations', {
          session_id: sessionId,
          title: `w${index}-${n}`,
        })
        if (res.status === 201) conversations.push(res.body.conversation.id)
      } else {
        const conversationId = conversations[n % conversations.length]!
        // Unique content, so every stored user message can be traced to the request that wrote it.
        const content = `writer ${index} message ${messageCounter++}`
        await call(
          'post-message',
          'POST',
          `/api/conversations/${conversationId}/messages`,
          { content },
          { conversationId, content },
        )
      }
      await sleep(PAUSE_MS)
    }
  }

  async function reader(sessionId: string, conversations: string[]): Promise<void> {
    for (let n = 0; loadRunning; n++) {
      const conversationId = conversations[n % conversations.length]!
      await call('list-conversations', 'GET', `/api/conversations?session_id=${sessionId}&limit=100`)
      await call('list-messages', 'GET', `/api/conversations/${conversationId}/messages?limit=10`)
      await call('ready', 'GET', '/health/ready')
      await sleep(PAUSE_MS)
    }
  }

  beforeAll(async () => {
    cluster = await DisposablePostgres.create()
    // Every case goes through the proxy, so that only the fault differs between them.
    proxy = await TcpProxy.start({ port: cluster.port })
    const databaseUrl = new URL(cluster.url)
    databaseUrl.port = String(proxy.port)
    service = await startService({
      ...FAST_SIM,
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl.toString(),
      DATABASE_SCHEMA: schema,
      DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
      ADMIN_TOKEN: adminToken,
      CACHE_PREFIX: cachePrefix,
      // Load shedding answers 503 too; keep it out of the way on a loaded machine.
      MAX_EVENT_LOOP_DELAY_MS: '0',
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    })
    pid = service.child.pid

    // Each writer starts with a session and one conversation; readers read the writers' data.
    const owned: Array<{ sessionId: string; conversations: string[] }> = []
    for (let i = 0; i < WRITERS; i++) {
      const session = await call('create-session', 'POST', '/api/sessions', {})
      expect(session.status, JSON.stringify(session.body)).toBe(201)
      const sessionId = session.body.session.id as string
      const first = await call('create-conversation', 'POST', '/api/conversations', { session_id: sessionId })
      expect(first.status, JSON.stringify(first.body)).toBe(201)
      owned.push({ sessionId, conversations: [first.body.conversation.id] })
    }
    const workers = [
      ...owned.map((o, i) => writer(i, o.sessionId, o.conversations)),
      ...Array.from({ length: READERS }, (_, i) =>
        reader(owned[i % WRITERS]!.sessionId, owned[i % WRITERS]!.conversations),
      ),
    ]
    try {
      const acked = (after = 0) =>
        outcomes.filter((o) => o.op === 'post-message' && o.status === 201 && o.start >= after).length
      await vi.waitFor(() => expect(acked()).toBeGreaterThanOrEqual(20), { timeout: 30_000, interval: 50 })

      const context = { cluster, proxy }
      t.stopBegin = performance.now()
      await fault.inject(context)
      t.stopped = performance.now()
      await sleep(fault.downMs) // the load keeps going against the missing database
      t.startBegin = performance.now()
      await fault.heal(context)
      t.started = performance.now()

      // Recovered: a write and a readiness check, both sent after the start, succeed.
      await vi.waitFor(
        () => {
          const ok = outcomes.filter(
            (o) =>
              o.start >= t.started &&
              ((o.op === 'post-message' && o.status === 201) || (o.op === 'ready' && o.status === 200)),
          )
          expect(new Set(ok.map((o) => o.op)).size).toBe(2)
          t.recovered = Math.max(
            ...(['post-message', 'ready'] as const).map((op) =>
              Math.min(...ok.filter((o) => o.op === op).map((o) => o.end)),
            ),
          )
        },
        { timeout: 30_000, interval: 50 },
      )
      await vi.waitFor(() => expect(acked(t.recovered)).toBeGreaterThanOrEqual(20), { timeout: 30_000, interval: 50 })
    } finally {
      loadRunning = false
      await Promise.all(workers)
    }
  }, 150_000)

  afterAll(async () => {
    loadRunning = false
    if (service && service.child.exitCode === null) {
      service.child.kill('SIGTERM')
      const exited = await Promise.race([
        service.exited.then(() => true),
        sleep(10_000, undefined, { ref: false }).then(() => false),
      ])
      if (!exited) service.child.kill('SIGKILL')
    }
    await proxy?.close()
    await cluster?.destroy()
    if (redisUrl) await dropTestData({ name: 'shared redis', databaseUrl: undefined, redisUrl }, { cachePrefix })
    rmSync(dataDir, { recursive: true, force: true })
  }, 60_000)

  it('answers every request, never with a 500, and none past the database timeouts', () => {
    const unanswered = outcomes.filter((o) => o.status === 0)
    expect(unanswered.map(summary)).toEqual([])
    const serverErrors = outcomes.filter((o) => o.status >= 500 && o.status !== 503)
    expect(serverErrors.map(summary)).toEqual([])
    const slow = outcomes.filter((o) => duration(o) > fault.slowestMs)
    expect(slow.map(summary)).toEqual([])
    const seconds = (ms: number) => Math.round(ms) / 1000
    console.info(
      `postgres-restart (${fault.name}): ${outcomes.length} requests; stop took ${seconds(t.stopped - t.stopBegin)} s, start ${seconds(t.started - t.startBegin)} s, ` +
        `recovered ${seconds(t.recovered - t.started)} s after the start; slowest request ${Math.round(Math.max(...outcomes.map(duration)))} ms; ` +
        `503s: ${outcomes.filter((o) => o.status === 503).length}`,
    )
  })

  it('fails fast with 503, Retry-After and a JSON error while the database is down, and is not ready', () => {
    const down = outcomes.filter((o) => o.start >= t.stopped && o.end <= t.startBegin)
    // Every kind of request was tried while the database was down.
    expect(new Set(down.map((o) => o.op))).toEqual(
      new Set<Op>(['create-conversation', 'post-message', 'list-conversations', 'list-messages', 'ready']),
    )
    const wrong = down.filter((o) => o.status !== 503 || !/^[1-9][0-9]*$/.test(o.retryAfter ?? ''))
    expect(wrong.map(summary)).toEqual([])
    for (const o of down) {
      if (o.op === 'ready') {
        expect(o.body).toMatchObject({
          status: 'unavailable',
          // Component and a stable code only: no driver message, host or port on the public probe.
          failing: expect.arrayContaining([
            { component: 'database', code: expect.stringMatching(/^(unreachable|timeout)$/) },
          ]),
        })
      } else {
        expect(o.body).toEqual({
          error: { code: 'database_unavailable', message: expect.stringMatching(/database is unavailable/i) },
        })
      }
    }
    // Refused connections are noticed at once, silence once the read timeout runs out.
    const slow = down.filter((o) => duration(o) > fault.failFastMs)
    expect(slow.map(summary)).toEqual([])
  })

  it('keeps every acknowledged write, and a failed write leaves nothing half-written', async () => {
    const client = new pg.Client({ connectionString: cluster!.url })
    await client.connect()
    try {
      const { rows: conversations } = await client.query<{ id: string; session_id: string }>(
        `select id, session_id from "${schema}".conversations`,
      )
      const { rows: messages } = await client.query<{
        id: string
        conversation_id: string
        role: string
        content: string
      }>(`select id::text, conversation_id, role, content from "${schema}".messages order by messages.id`)
      const stored = new Map(conversations.map((c) => [c.id, c.session_id]))

      const createdConversations = outcomes.filter(
        (o) => o.op === 'create-conversation' && o.status === 201 && o.body.conversation,
      )
      for (const o of createdConversations)
        expect(stored.get(o.body.conversation.id), `conversation ${o.body.conversation.id}`).toBe(
          o.body.conversation.session_id,
        )

      // Each conversation gets one post at a time (one writer owns it), so its rows must read, in
      // id order, as the posts in the order they were sent: an acknowledged post is exactly its
      // user message and reply; a failed one is nothing, its user message, or both (when the
      // commit happened but the answer was cut off) — never a reply without its user message.
      const posts = outcomes.filter((o) => o.op === 'post-message').sort((a, b) => a.start - b.start)
      const byConversation = new Map<string, typeof messages>()
      for (const m of messages)
        byConversation.set(m.conversation_id, [...(byConversation.get(m.conversation_id) ?? []), m])
      const counts = { acknowledged: 0, failedWithNothing: 0, failedWithUserMessage: 0, failedWithBoth: 0 }
      for (const [conversationId, rows] of byConversation) {
        const queue = [...rows]
        for (const post of posts.filter((p) => p.conversationId === conversationId)) {
          const head = queue[0]
          const ownsHead = head?.role === 'user' && head.content === post.content
          if (post.status === 201) {
            counts.acknowledged++
            expect(ownsHead, `user message of acknowledged post "${post.content}"`).toBe(true)
            expect(queue.shift()!.id).toBe(post.body.message.id)
            const reply = queue.shift()
            expect(reply?.role).toBe('assistant')
            expect(reply?.id).toBe(post.body.reply.id)
          } else if (!ownsHead) {
            counts.failedWithNothing++
          } else {
            queue.shift()
            if (queue[0]?.role === 'assistant') {
              queue.shift()
              counts.failedWithBoth++
            } else counts.failedWithUserMessage++
          }
        }
        expect(queue, `rows of conversation ${conversationId} no post accounts for`).toEqual([])
      }
      // Acknowledged posts to conversations with no stored rows at all would have escaped the loop above.
      expect(counts.acknowledged).toBe(posts.filter((p) => p.status === 201).length)
      const ackedBefore = posts.filter((p) => p.status === 201 && p.end <= t.stopBegin).length
      const ackedAfter = posts.filter((p) => p.status === 201 && p.start >= t.started).length
      const ackedAcrossStopOrStart = posts.filter(
        (p) => p.status === 201 && p.end > t.stopBegin && p.start < t.started,
      ).length
      expect(ackedBefore).toBeGreaterThanOrEqual(20)
      expect(ackedAfter).toBeGreaterThanOrEqual(20)
      expect(posts.some((p) => p.status === 503)).toBe(true)
      console.info(
        `postgres-restart (${fault.name}): message posts ${JSON.stringify(counts)}; acknowledged before the stop ${ackedBefore}, across the stop or start ${ackedAcrossStopOrStart}, after the start ${ackedAfter}; conversations created ${createdConversations.length}`,
      )
    } finally {
      await client.end()
    }
  })

  it('reconnects by itself within seconds of the start, in the same process, without crashing', async () => {
    expect(t.recovered - t.started).toBeLessThanOrEqual(RECOVERY_DEADLINE_MS)
    // Once recovered, it stays recovered: everything sent afterwards succeeds.
    const failedAfter = outcomes.filter((o) => o.start >= t.recovered && (o.status < 200 || o.status >= 300))
    expect(failedAfter.map(summary)).toEqual([])

    expect(service!.child.exitCode).toBeNull()
    expect(service!.child.pid).toBe(pid)
    const ready = await fetch(`${service!.url}/health/ready`)
    expect(ready.status).toBe(200)
    // The instance id defaults to <hostname>-<pid>: the process answering is the one started.
    const instances = await fetch(`${service!.url}/api/instances`, {
      headers: { authorization: `Bearer ${adminToken}` },
    })
    expect(instances.status).toBe(200)
    const { instances: list } = (await instances.json()) as { instances: Array<{ id: string; self: boolean }> }
    expect(list.find((i) => i.self)?.id).toMatch(new RegExp(`-${pid}$`))

    const lines = service!
      .output()
      .split('\n')
      .filter((line) => line.trim())
    const logs = lines.map((line): LogLine => {
      try {
        return JSON.parse(line) as LogLine
      } catch {
        return { msg: line }
      }
    })
    expect(lines.filter((line) => /unhandled|uncaught/i.test(line))).toEqual([])
    expect(logs.filter((l) => (l.level ?? 0) >= 60 || l.msg === 'request failed')).toEqual([])
    // The outage was seen and reported as such.
    expect(logs.some((l) => l.msg === 'database unavailable')).toBe(true)
    const causes = new Map<string, number>()
    for (const l of logs) {
      if (l.msg !== 'database unavailable') continue
      const cause = l.err?.code ?? l.err?.message ?? '?'
      causes.set(cause, (causes.get(cause) ?? 0) + 1)
    }
    console.info(
      `postgres-restart (${fault.name}): causes mapped to 503: ${JSON.stringify(Object.fromEntries(causes))}`,
    )
  })
})
