import type { ServerResponse } from 'node:http'
import { PassThrough } from 'node:stream'
import type { FastifyReply } from 'fastify'
import { AppError, type ErrorFields } from '../errors.js'
import { databaseUnavailable, isDatabaseUnavailable } from '../infra/db/errors.js'

/**
 * Server-Sent Events, both ways: reading an upstream's stream (the `data` of each event) and
 * writing ours.
 *
 * SseDataParser reads synchronously, a chunk at a time: the events of a chunk come back
 * together (an upstream often sends dozens in one), without a promise per event.
 */
export class SseDataParser {
  private readonly decoder = new TextDecoder()
  private buffer = ''
  private data: string[] = []

  /** The `data` of every event this chunk completes. */
  push(chunk: Uint8Array): string[] {
    this.buffer += this.decoder.decode(chunk, { stream: true })
    const events: string[] = []
    let start = 0
    let newline: number
    while ((newline = this.buffer.indexOf('\n', start)) >= 0) {
      const end = newline > start && this.buffer.charCodeAt(newline - 1) === 13 ? newline - 1 : newline
      this.line(this.buffer.slice(start, end), events)
      start = newline + 1
    }
    this.buffer = this.buffer.slice(start)
    return events
  }

  /** The body ended: an event not closed by a blank line still counts. */
  end(): string[] {
    const events: string[] = []
    const last = (this.buffer + this.decoder.decode()).replace(/\r$/, '')
    this.buffer = ''
    if (last.startsWith('data:')) this.data.push(last.slice(last[5] === ' ' ? 6 : 5))
    if (this.data.length) events.push(this.data.join('\n'))
    this.data = []
    return events
  }

  private line(line: string, events: string[]): void {
    if (line === '') {
      if (this.data.length) events.push(this.data.length === 1 ? this.data[0]! : this.data.join('\n'))
      this.data = []
    } else if (line.startsWith('data:')) {
      this.data.push(line.slice(line[5] === ' ' ? 6 : 5))
    }
    // event:, id:, retry: and comments carry nothing the OpenAI protocol uses.
  }
}

/** The `data` of each event of a body, one at a time. */
export async function* sseData(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const parser = new SseDataParser()
  for await (const chunk of body) yield* parser.push(chunk)
  yield* parser.end()
}

/**
 * Our side: a stream handed to Fastify once the first event is known, so that headers
 * (x-cache among them) are still free to set until then and an error before that point is
 * an ordinary JSON error with its status. Compression skips text/event-stream; the headers
 * tell proxies not to buffer either.
 */
export class SseWriter {
  private readonly stream = new PassThrough()
  private opened = false

  constructor(private readonly registry: OpenStreams) {
    // A client that left makes Fastify destroy the stream; later writes are dropped, not thrown.
    this.stream.on('error', () => {})
  }

  get isOpen(): boolean {
    return this.opened
  }

  open(reply: FastifyReply, headers: Record<string, string>): void {
    if (this.opened) return
    this.opened = true
    this.registry.add(reply.raw)
    reply
      .code(200)
      .headers({
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
        connection: 'keep-alive',
        ...headers,
      })
      .type('text/event-stream; charset=utf-8')
      .send(this.stream)
  }

  /** An event with a name (`event: token`) or, for OpenAI chunks, without one. */
  send(data: unknown, event?: string): void {
    if (this.stream.writableEnded || this.stream.destroyed) return
    this.stream.write(
      `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`,
    )
  }

  end(): void {
    if (!this.stream.writableEnded) this.stream.end()
  }
}

/**
 * The SSE responses still open. A connection whose response ends after the server began
 * closing would otherwise linger as keep-alive until its timeout; shutdown waits for these
 * to end first, so that Fastify then closes their connections as idle.
 */
export class OpenStreams {
  private readonly responses = new Set<ServerResponse>()

  add(response: ServerResponse): void {
    this.responses.add(response)
    response.once('close', () => this.responses.delete(response))
  }

  /** Resolves when every open stream has closed, or after `timeoutMs` (a client that stopped reading). */
  async drained(timeoutMs: number): Promise<void> {
    if (this.responses.size === 0) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all([...this.responses].map((response) => new Promise((resolve) => response.once('close', resolve)))),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs)
      }),
    ])
    clearTimeout(timer)
  }
}

/** Aborts when the client goes away before the response has finished. */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('client closed the connection'))
  })
  return controller.signal
}

/** What a stream says when it fails after it has started: the code and message (and upstreamStatus), never internals. */
export function streamError(
  err: unknown,
  log: { error: (obj: object, msg: string) => void },
): { code: string; message: string } & ErrorFields {
  if (err instanceof AppError) return { code: err.code, message: err.message, ...err.fields }
  // The same answer the error handler gives before the stream starts: temporary, retry.
  if (isDatabaseUnavailable(err)) {
    const { code, message } = databaseUnavailable()
    return { code, message }
  }
  log.error({ err }, 'streamed completion failed')
  return { code: 'internal_error', message: 'Internal server error; the details are in the server log' }
}
