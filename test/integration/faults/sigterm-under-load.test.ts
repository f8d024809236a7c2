import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, onTestFailed } from 'vitest'
import { generateToken } from '../../../server/auth/token-repository.js'
import { dropTestData, uniqueName } from '../../helpers/app.js'
import { startService, type ServiceProcess } from '../../helpers/process.js'
import { waitFor } from '../../helpers/alerts.js'
import { parseSse } from '../../helpers/chat.js'
import { startLoad, type Load, type LoadRecord } from './load.js'
import { REFUSED_WHILE_CLOSING } from '../../../server/infra/http/closing.js'

/**
 * SIGTERM while a real service process is busy: non-streamed and streamed chat completions,
 * conversation messages (which persist), new conversations. The simulated provider is slow
 * enough (about 1.5-3 s a reply) that requests of every kind are in flight at the signal.
 *
 * The service defines graceful shutdown as (server/main.ts, server/chat/service.ts):
 * - a request it had accepted finishes: a non-streamed one with its full answer; a stream
 *   still going ends with an `error` event (service_unavailable), or, if it had not sent its
 *   first token yet, answers an ordinary 503 JSON error;
 * - a request arriving once shutdown began is refused: 503 on an open connection, or the
 *   connection is refused once the listener is closed; nothing hangs;
 * - the process exits 0 within SHUTDOWN_TIMEOUT_MS;
 * - whatever it acknowledged (2xx, a `complete` event) is in the database after a restart.
 *
 * Which requests the service accepted is read from its own log: each request carries an
 * x-request-id, which Fastify logs as reqId with "incoming request" (accepted) or "request
 * aborted - refusing..." (refused while closing).
 */

const SHUTDOWN_TIMEOUT_MS = 10_000
const SLOW_SIM = { SIM_FIRST_TOKEN_MS: '200', SIM_TOKENS_PER_SECOND: '20' }
const ACCEPTED = 'incoming request'
const REFUSED = REFUSED_WHILE_CLOSING
/** How a request that never reached a route may fail: the connection was refused or closed. */
const CONNECTION_ERRORS = ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']

/** `{ error: { code: "service_unavailable", message } }` on /api, OpenAI's shape with that code on /v1. */
function refusalInOurShape(r: LoadRecord): boolean {
  try {
    const body = JSON.parse(r.body ?? '') as { error?: { code?: unknown; message?: unknown } }
    return body.error?.code === 'service_unavailable' && typeof body.error.message === 'string'
  } catch {
    return false
  }
}

type Kind = 'chat' | 'chat-stream' | 'message' | 'message-stream' | 'conversation'
/** One kind per loop: two of each chat and message kind, so several are in flight at once. */
const LOOPS: Kind[] = [
  'chat',
  'chat',
  'chat-stream',
  'chat-stream',
  'message',
  'message',
  'message-stream',
  'message-stream',
  'conversation',
]

/** What loop `loop` sends as its `seq`th message (unique, so that no reply comes from the cache). */
const contentOf = (loop: number, seq: number) => `loop ${loop} message ${seq}: tell me something new`

interface LogLine {
  time: number
  msg: string
  reqId?: string
}

function serviceLog(service: ServiceProcess): LogLine[] {
  return service
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine)
}

describe('SIGTERM under load', () => {
  const databaseUrl = process.env.DATABASE_URL
  const redisUrl = process.env.REDIS_URL
  const schema = uniqueName('faults_sigterm')
  const cachePrefix = `ccp-test:${uniqueName('p')}:`
  const dataDir = mkdtempSync(join(tmpdir(), 'ccp-sigterm-'))
  const adminToken = generateToken()
  const auth = { authorization: `Bearer ${adminToken}` }
  const json = { ...auth, 'content-type': 'application/json' }
  const env = {
    ...SLOW_SIM,
    ADMIN_TOKEN: adminToken,
    DATA_DIR: dataDir,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema } : {}),
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    CACHE_PREFIX: cachePrefix,
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    // The request log ("incoming request", "request aborted - ...") tells accepted from refused.
    LOG_LEVEL: 'info',
    // Load shedding on event-loop lag is not under test, and a busy CI machine would trigger it.
    MAX_EVENT_LOOP_DELAY_MS: '0',
  }
  let first: ServiceProcess | undefined
  let second: ServiceProcess | undefined
  let load: Load | undefined

  afterAll(async () => {
    // The services first: requests still in flight then fail at once instead of running to their timeout.
    for (const service of [first, second]) {
      service?.child.kill('SIGKILL')
      await service?.exited
    }
    await load?.stop()
    await dropTestData({ name: 'real', databaseUrl, redisUrl }, { schema, cachePrefix })
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('finishes what it accepted, refuses the rest, exits 0, and loses nothing it acknowledged', async () => {
    onTestFailed(() => {
      const lines = (first?.output() ?? '')
        .split('\n')
        .filter((l) => !/"msg":"(incoming request|request completed)"/.test(l))
      console.error(`service log (without per-request lines):\n${lines.slice(-80).join('\n')}`)
    })
    first = await startService(env)
    const service = first
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${service.url}${path}`, { method: 'POST', headers: json, body: JSON.stringify(body) })
      if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`)
      return (await res.json()) as any
    }
    const sessionId: string = (await post('/api/sessions', {})).session.id
    const conversationOfLoop = new Map<number, string>()
    for (const [loop, kind] of LOOPS.entries()) {
      if (kind.startsWith('message'))
        conversationOfLoop.set(
          loop,
          (await post('/api/conversations', { session_id: sessionId, title: `loop ${loop}` })).conversation.id,
        )
    }

    load = startLoad({
      loops: LOOPS.length,
      // Longer than the service may take for anything: a request still open then is a hang.
      timeoutMs: SHUTDOWN_TIMEOUT_MS + 10_000,
      pauseMs: 25,
      next: (loop, seq) => {
        const kind = LOOPS[loop]!
        const content = contentOf(loop, seq)
        const stream = kind.endsWith('stream')
        if (kind === 'conversation') {
          return {
            kind,
            url: `${service.url}/api/conversations`,
            init: {
              method: 'POST',
              headers: json,
              body: JSON.stringify({ session_id: sessionId, title: `created by request ${seq}` }),
            },
          }
        }
        if (kind.startsWith('message')) {
          return {
            kind,
            url: `${service.url}/api/conversations/${conversationOfLoop.get(loop)}/messages`,
            init: { method: 'POST', headers: json, body: JSON.stringify({ content, stream }) },
          }
        }
        return {
          kind,
          url: `${service.url}/v1/chat/completions`,
          init: {
            method: 'POST',
            headers: json,
            body: JSON.stringify({ messages: [{ role: 'user', content }], stream }),
          },
        }
      },
    })

    // SIGTERM once every chat and message kind has a request in flight (a stream: already
    // streaming) that is well under way but far from done (a reply takes 1.3-2.8 s).
    await waitFor(
      'requests of every kind in flight',
      () => {
        const now = Date.now()
        const busy = (kind: Kind) =>
          load!
            .inFlight()
            .some(
              (r) =>
                r.kind === kind &&
                now - r.startedAt > 200 &&
                now - r.startedAt < 800 &&
                (!kind.endsWith('stream') || r.headersAt !== null),
            )
        const done = (kind: Kind) => load!.records.filter((r) => r.kind === kind && r.endedAt !== null).length >= 2
        return (['chat', 'chat-stream', 'message', 'message-stream'] as const).every((kind) => done(kind) && busy(kind))
      },
      30_000,
    )
    const sigtermAt = Date.now()
    service.child.kill('SIGTERM')
    const exitCode = await service.exited
    const exitedAt = Date.now()
    // A little more load against the closed port, then stop.
    await waitFor(
      'requests after the exit',
      () => load!.records.filter((r) => r.startedAt > exitedAt && r.endedAt !== null).length >= LOOPS.length,
    )
    const records = await load.stop()
    load = undefined

    expect(exitCode).toBe(0)
    expect(exitedAt - sigtermAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 2_000)
    const log = serviceLog(service)
    expect(log.some((l) => l.msg === 'shutdown complete')).toBe(true)
    const shutdownAt = log.find((l) => l.msg.startsWith('shutting down'))!.time
    // A refused request is logged as incoming too (the refusal is our first hook): it is refused, not accepted.
    const refused = new Set(log.filter((l) => l.msg === REFUSED).map((l) => l.reqId))
    const accepted = new Set(log.filter((l) => l.msg === ACCEPTED && !refused.has(l.reqId)).map((l) => l.reqId))

    // Each request, judged by what the service did with it.
    const problems: string[] = []
    const acknowledged: LoadRecord[] = []
    for (const r of records) {
      const what = `${r.kind} #${r.requestId} (${r.startedAt - sigtermAt} ms after SIGTERM): status ${r.status}, error ${r.error?.code ?? 'none'}`
      if (r.error?.code === 'TimeoutError') {
        problems.push(`${what}: hung`)
      } else if (accepted.has(r.requestId)) {
        const outcome = acceptedOutcome(r)
        if (outcome === 'acknowledged') acknowledged.push(r)
        else if (outcome !== 'ended by shutdown')
          problems.push(`${what}: accepted but ${outcome}: ${r.body?.slice(-300)}`)
      } else if (refused.has(r.requestId)) {
        if (r.status !== 503 || r.error) problems.push(`${what}: refused while closing, but not with a 503`)
        else if (!refusalInOurShape(r)) problems.push(`${what}: refused with a body not in our error shape: ${r.body}`)
      } else if (r.status !== null || !CONNECTION_ERRORS.includes(r.error?.code ?? '')) {
        problems.push(`${what}: never reached the service, yet did not fail to connect`)
      }
    }
    expect(problems).toEqual([])

    // The cases that matter were really exercised.
    const inFlightAtSigterm = records.filter(
      (r) => accepted.has(r.requestId) && r.startedAt < sigtermAt && r.endedAt! > shutdownAt,
    )
    for (const kind of ['chat', 'message'] as const) {
      // Non-streamed requests in flight at SIGTERM got their full answer.
      expect(inFlightAtSigterm.filter((r) => r.kind === kind && acknowledged.includes(r)).length, kind).toBeGreaterThan(
        0,
      )
    }
    for (const kind of ['chat-stream', 'message-stream'] as const) {
      // Streams going at SIGTERM ended with an error event rather than hanging or being cut.
      expect(
        inFlightAtSigterm.filter(
          (r) => r.kind === kind && r.headersAt! < sigtermAt && acceptedOutcome(r) === 'ended by shutdown',
        ).length,
        kind,
      ).toBeGreaterThan(0)
    }
    const afterSigterm = records.filter((r) => r.startedAt > shutdownAt)
    expect(
      afterSigterm.filter((r) => r.status === 503 || CONNECTION_ERRORS.includes(r.error?.code ?? '')).length,
    ).toBeGreaterThan(0)

    // Nothing acknowledged is lost: the same database, read by a new process.
    second = await startService(env)
    const restarted = second
    const get = async (path: string) => {
      const res = await fetch(`${restarted.url}${path}`, { headers: auth })
      return { status: res.status, body: (await res.json()) as any }
    }
    const stored = new Map<string, Map<string, string>>()
    const messagesOf = async (conversationId: string) => {
      if (!stored.has(conversationId)) {
        const byId = new Map<string, string>()
        let before: string | null = null
        do {
          const page = await get(
            `/api/conversations/${conversationId}/messages?limit=100${before ? `&before=${before}` : ''}`,
          )
          expect(page.status).toBe(200)
          for (const m of page.body.messages) byId.set(m.id, m.content)
          before = page.body.next_before
        } while (before)
        stored.set(conversationId, byId)
      }
      return stored.get(conversationId)!
    }
    let checked = 0
    for (const r of acknowledged) {
      const conversationId = conversationOfLoop.get(r.loop)
      if (r.kind === 'conversation') {
        const id = JSON.parse(r.body!).conversation.id
        expect((await get(`/api/conversations/${id}`)).status, `conversation ${id}`).toBe(200)
        checked++
      } else if (r.kind === 'message') {
        const { message, reply } = JSON.parse(r.body!)
        const messages = await messagesOf(conversationId!)
        expect(messages.get(message.id)).toBe(contentOf(r.loop, r.seq))
        expect(messages.get(reply.id)).toBe(reply.content)
        checked += 2
      } else if (r.kind === 'message-stream') {
        const complete = JSON.parse(parseSse(r.body!).at(-1)!.data)
        const messages = await messagesOf(conversationId!)
        const text = parseSse(r.body!)
          .filter((e) => e.event === 'token')
          .map((e) => JSON.parse(e.data).text)
          .join('')
        expect(messages.get(complete.user_message_id)).toBe(contentOf(r.loop, r.seq))
        expect(messages.get(complete.message_id)).toBe(text)
        checked += 2
      }
    }
    expect(checked).toBeGreaterThan(0)

    const perKind = (list: LoadRecord[]) =>
      [...new Set(LOOPS)].map((kind) => `${list.filter((r) => r.kind === kind).length} ${kind}`).join(', ')
    console.info(
      `sigterm-under-load: ${records.length} requests (${perKind(records)}); ${inFlightAtSigterm.length} in flight at SIGTERM; ` +
        `acknowledged: ${perKind(acknowledged)}, ${checked} rows verified after restart; ` +
        `${refused.size} refused with 503, ${records.filter((r) => r.error).length} connection errors; exit 0 after ${exitedAt - sigtermAt} ms`,
    )
  }, 120_000)
})

/**
 * What became of a request the service accepted: 'acknowledged' (a full 2xx answer, or a
 * stream that completed), 'ended by shutdown' (a stream's error event or a 503 before its
 * first token, both service_unavailable), or a description of what went wrong.
 */
function acceptedOutcome(r: LoadRecord): string {
  if (r.error) return `cut off (${r.error.phase}: ${r.error.code})`
  const kind = r.kind as Kind
  const stream = kind.endsWith('stream')
  if (r.status === 503 && stream) {
    return JSON.parse(r.body!).error?.code === 'service_unavailable'
      ? 'ended by shutdown'
      : 'a 503 without service_unavailable'
  }
  if (!stream) {
    const expected = kind === 'chat' ? 200 : 201
    if (r.status !== expected) return `answered ${r.status}`
    const body = JSON.parse(r.body!)
    if (kind === 'chat')
      return body.choices?.[0]?.finish_reason === 'stop' && body.choices[0].message.content
        ? 'acknowledged'
        : 'an incomplete answer'
    if (kind === 'message') return body.message?.id && body.reply?.content ? 'acknowledged' : 'an incomplete answer'
    return body.conversation?.id ? 'acknowledged' : 'an incomplete answer'
  }
  if (r.status !== 200) return `answered ${r.status}`
  const events = parseSse(r.body!)
  const last = events.at(-1)
  if (kind === 'chat-stream') {
    if (last?.data === '[DONE]') return 'acknowledged'
    const error = last ? (JSON.parse(last.data) as { error?: { code?: string } }).error : undefined
    return error?.code === 'service_unavailable' ? 'ended by shutdown' : 'a stream cut without [DONE] or an error'
  }
  if (last?.event === 'complete') return 'acknowledged'
  if (last?.event === 'error' && JSON.parse(last.data).code === 'service_unavailable') return 'ended by shutdown'
  return 'a stream cut without a complete or error event'
}
