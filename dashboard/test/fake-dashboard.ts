import type { LiveMessage } from '../../server/contract/index.js'
import { createDashboard, type Dashboard } from '../src/lib/dashboard.js'
import { LiveConnection } from '../src/lib/live.svelte.js'

/**
 * A dashboard for page tests: its API answers from `routes` (an in-memory stand-in for the
 * server, recording every call), and its live connection is fed by `emit` instead of a socket.
 */
export interface Call {
  method: string
  path: string
  query: URLSearchParams
  body: unknown
}

export type Reply =
  | { status: number; body?: unknown }
  | ((call: Call) => { status: number; body?: unknown } | Promise<{ status: number; body?: unknown }>)

export interface FakeDashboard {
  dashboard: Dashboard
  calls: Call[]
  /** Replaces or adds an answer: key "GET /api/jobs" (no query string). */
  route(key: string, reply: Reply): void
  /** Delivers a live message as if the server had sent it. */
  emit(message: LiveMessage | { type: string; instance?: string; data: unknown }): void
  /** Stops the live connection (and its heartbeat watchdog). */
  close(): void
}

export const ok = (body: unknown) => ({ status: 200, body })

/** The 'job' live message a running run sends with its progress (`run`: runId, job, trigger, instance, attempt). */
export const progressOf = (run: Record<string, unknown>, at: number, report: Record<string, unknown>) => ({
  type: 'job',
  data: { ...run, type: 'progress', status: 'running', at, report },
})

export function fakeDashboard(role: 'admin' | 'viewer', routes: Record<string, Reply> = {}): FakeDashboard {
  const table = new Map(Object.entries(routes))
  const calls: Call[] = []
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://dashboard.test')
    const method = init?.method ?? 'GET'
    const call: Call = {
      method,
      path: url.pathname,
      query: url.searchParams,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    }
    calls.push(call)
    const reply = table.get(`${method} ${url.pathname}`)
    const answer =
      typeof reply === 'function'
        ? await reply(call)
        : (reply ?? {
            status: 404,
            body: { error: { code: 'not_found', message: `Route ${method} ${url.pathname} not found` } },
          })
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': 'application/json' },
    })
  }) as typeof globalThis.fetch

  const dashboard = createDashboard([], { fetch })
  dashboard.session.principal = { tokenId: 't', name: `${role} person`, role, via: 'session' }
  dashboard.session.status = 'signed-in'

  let socket: {
    onmessage: ((event: { data: string }) => void) | null
    onopen: (() => void) | null
    onclose: (() => void) | null
    onerror: (() => void) | null
    close(): void
  } | null = null
  dashboard.live = new LiveConnection({
    url: 'ws://dashboard.test/api/live',
    onAuthLost: () => {},
    checkSession: async () => true,
    createSocket: () => {
      socket = { onmessage: null, onopen: null, onclose: null, onerror: null, close() {} }
      return socket as unknown as WebSocket
    },
  })
  dashboard.live.start()
  const emit = (message: { type: string; data: unknown; instance?: string }) =>
    socket!.onmessage!({ data: JSON.stringify({ instance: 'test-1', ...message }) })
  emit({
    type: 'hello',
    data: {
      instance: 'test-1',
      serverTime: Date.now(),
      sampleIntervalMs: 1000,
      heartbeatIntervalMs: 15_000,
      historyMinutes: 15,
      principal: { name: `${role} person`, role },
    },
  })

  return { dashboard, calls, route: (key, reply) => table.set(key, reply), emit, close: () => dashboard.live.stop() }
}
