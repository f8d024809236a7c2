import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import WebSocket from 'ws'
import type { LiveMessage } from '../../server/contract/live.js'

/** Listens on an ephemeral port (once) and returns the app's base URL. */
export async function listenOnce(app: FastifyInstance): Promise<string> {
  if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  return `http://127.0.0.1:${port}`
}

export interface LiveClient {
  socket: WebSocket
  messages: LiveMessage[]
  /** Resolves with the first message (already received or still to come) that matches. */
  next<T extends LiveMessage['type']>(
    type: T,
    match?: (m: Extract<LiveMessage, { type: T }>) => boolean,
  ): Promise<Extract<LiveMessage, { type: T }>>
  /** Resolves with the close code and reason once the socket closes. */
  closed: Promise<{ code: number; reason: string }>
  close(): Promise<void>
}

/**
 * A real WebSocket client on a real TCP connection to `/api/live`. Rejects when the
 * upgrade is refused (the error names the HTTP status, then the body of the answer).
 */
export async function connectLive(baseUrl: string, headers: Record<string, string> = {}): Promise<LiveClient> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/live`, { headers })
  const messages: LiveMessage[] = []
  const waiters: Array<{ test: (m: LiveMessage) => boolean; resolve: (m: LiveMessage) => void }> = []
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as LiveMessage
    messages.push(message)
    for (const waiter of [...waiters]) {
      if (waiter.test(message)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(message)
      }
    }
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) }))
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
    socket.once('unexpected-response', (req, res) => {
      // The refusal's body (the server's error JSON) goes into the message after the status.
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      const refused = () => {
        req.destroy()
        reject(new Error(`upgrade refused: ${res.statusCode} ${body}`.trim()))
      }
      res.once('end', refused)
      res.once('error', refused)
      res.once('close', refused)
    })
  })
  return {
    socket,
    messages,
    closed,
    next(type, match = () => true) {
      const test = (m: LiveMessage) => m.type === type && match(m as never)
      const found = messages.find(test)
      if (found) return Promise.resolve(found as never)
      return new Promise((resolve) => waiters.push({ test, resolve: resolve as (m: LiveMessage) => void }))
    },
    async close() {
      if (socket.readyState === WebSocket.CLOSED) return
      socket.close()
      await closed
    },
  }
}
