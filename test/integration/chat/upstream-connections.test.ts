import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { OpenAIProvider } from '../../../server/chat/providers/openai.js'

/** A real local upstream that streams a short completion and counts connections and requests. */
async function startUpstream(options: { dropSecondRequestOnAConnection?: boolean } = {}) {
  const counts = { connections: 0, requests: 0, dropped: 0 }
  const requestsOn = new WeakMap<Socket, number>()
  const server: Server = createServer((req, res) => {
    counts.requests++
    const n = (requestsOn.get(req.socket) ?? 0) + 1
    requestsOn.set(req.socket, n)
    if (options.dropSecondRequestOnAConnection && n === 2) {
      // What an upstream that closed an idle kept-alive connection looks like to the client.
      counts.dropped++
      req.socket.destroy()
      return
    }
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const chunk = (delta: object, finish: string | null) =>
        `data: ${JSON.stringify({ model: 'm-1', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
      res.end(
        `${chunk({ content: 'hello ' }, null)}${chunk({ content: 'there' }, null)}${chunk({}, 'stop')}data: [DONE]\n\n`,
      )
    })
  })
  server.on('connection', () => counts.connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
  return {
    url,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

describe('openai provider connections to the upstream', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  const provider = (url: string, maxRetries: number) => {
    const p = new OpenAIProvider(
      { baseUrl: url, apiKey: 'k', model: 'm', timeoutMs: 10_000, maxRetries },
      pino({ level: 'silent' }),
    )
    cleanups.push(() => p.close())
    return p
  }
  const complete = (p: OpenAIProvider) =>
    p.complete(
      { model: 'm', messages: [{ role: 'user', content: 'hi' }], params: {} },
      { signal: new AbortController().signal, onChunk: () => {} },
    )

  it('keeps connections alive across completions instead of opening one per call', async () => {
    const upstream = await startUpstream()
    cleanups.push(upstream.close)
    const p = provider(upstream.url, 0)
    for (let i = 0; i < 30; i++) expect((await complete(p)).content).toBe('hello there')
    expect(upstream.counts.requests).toBe(30)
    // A response still draining when the next call starts may take a second connection; never one per call.
    expect(upstream.counts.connections).toBeLessThanOrEqual(3)
  })

  it('sends a request again on a new connection when the upstream closed the kept-alive one it went out on', async () => {
    const upstream = await startUpstream({ dropSecondRequestOnAConnection: true })
    cleanups.push(upstream.close)
    // No retries configured: the resend is not a retry of a failed call, the request never got an answer.
    const p = provider(upstream.url, 0)
    expect((await complete(p)).content).toBe('hello there')
    // Let the first connection go back to the pool (its response ends a tick after the last chunk is read).
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await complete(p)).content).toBe('hello there')
    expect(upstream.counts.dropped).toBe(1)
    expect(upstream.counts.requests).toBe(3)
    expect(upstream.counts.connections).toBe(2)
  })
})
