import { randomUUID } from 'node:crypto'

/** One request a load loop sends: `kind` groups records for the assertions. */
export interface LoadRequest {
  kind: string
  /** Free-form label copied to the record (e.g. the test's phase when the request was sent). */
  tag?: string
  url: string
  init: RequestInit
}

/** What happened to one request. Timestamps are Date.now() on the test's clock. */
export interface LoadRecord {
  loop: number
  seq: number
  kind: string
  tag: string | undefined
  /** Sent as x-request-id: the service logs it as reqId, so its log can be matched to this record. */
  requestId: string
  startedAt: number
  /** When the status line and headers arrived; null if they never did. */
  headersAt: number | null
  /** Null while the request is in flight. */
  endedAt: number | null
  status: number | null
  headers: Record<string, string> | null
  /** The whole body, when it was read to its end. */
  body: string | null
  /** Set when the request failed: before any response ('request'), or while the body was read ('body'). */
  error: { phase: 'request' | 'body'; code: string; message: string } | null
}

export interface LoadOptions {
  /** Concurrent loops; each sends one request at a time, the next as soon as the last ended. */
  loops: number
  next: (loop: number, seq: number) => LoadRequest | Promise<LoadRequest>
  /** A request (body included) not finished after this long is aborted and recorded as a 'TimeoutError': a hang. */
  timeoutMs: number
  /** Pause between two requests of one loop. */
  pauseMs?: number
}

export interface Load {
  /** Every request so far, in flight ones included (endedAt null). */
  readonly records: LoadRecord[]
  inFlight(): LoadRecord[]
  /** Stops sending, waits for the requests in flight, and returns every record. */
  stop(): Promise<LoadRecord[]>
}

/** The low-level reason of a fetch failure: ECONNREFUSED, UND_ERR_SOCKET, TimeoutError... */
function describe(err: unknown): { code: string; message: string } {
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } }
  const code = e.cause?.code ?? e.code ?? e.name ?? 'Error'
  return { code, message: [e.message, e.cause?.message].filter(Boolean).join(': ') }
}

/** N concurrent loops of real HTTP requests (fetch), recording every status, body, time and error. */
export function startLoad(options: LoadOptions): Load {
  const records: LoadRecord[] = []
  let stopped = false

  async function send(loop: number, seq: number): Promise<void> {
    const { kind, tag, url, init } = await options.next(loop, seq)
    const record: LoadRecord = {
      loop,
      seq,
      kind,
      tag,
      requestId: `load-${randomUUID()}`,
      startedAt: Date.now(),
      headersAt: null,
      endedAt: null,
      status: null,
      headers: null,
      body: null,
      error: null,
    }
    records.push(record)
    try {
      const headers = new Headers(init.headers)
      headers.set('x-request-id', record.requestId)
      const res = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(options.timeoutMs) })
      record.headersAt = Date.now()
      record.status = res.status
      record.headers = Object.fromEntries(res.headers)
      try {
        record.body = await res.text()
      } catch (err) {
        record.error = { phase: 'body', ...describe(err) }
      }
    } catch (err) {
      record.error = { phase: 'request', ...describe(err) }
    }
    record.endedAt = Date.now()
  }

  const loops = Array.from({ length: options.loops }, async (_, loop) => {
    for (let seq = 0; !stopped; seq++) {
      await send(loop, seq)
      if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs))
    }
  })

  return {
    records,
    inFlight: () => records.filter((r) => r.endedAt === null),
    async stop() {
      stopped = true
      await Promise.all(loops)
      return records
    },
  }
}
