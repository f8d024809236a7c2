import http from 'node:http'
import https from 'node:https'

/** What the provider reads of an upstream answer. */
export interface UpstreamResponse {
  status: number
  /** A header's value (lower-case name); several values joined with ", ". */
  header(name: string): string | undefined
  /**
   * The body as it arrives; a cut connection or an abort makes the iteration throw. Leaving
   * the loop early does not end the response: call `release` after.
   */
  body: AsyncIterable<Uint8Array>
  text(): Promise<string>
  /**
   * Done with the body: `reuse` reads what is left (the connection goes back to the pool once
   * the response ends), otherwise the connection is closed.
   */
  release(reuse: boolean): void
}

/**
 * Requests to the upstream with node:http over kept-alive connections. fetch (undici) was the
 * first version; it costs about 0.3 ms of CPU more per call (WHATWG streams and headers),
 * which is most of what this gateway added to a call. Same semantics as the fetch calls it
 * replaces: `signal` aborts the request at any point (connecting, waiting, reading the body).
 */
export class UpstreamClient {
  private readonly agent: http.Agent
  private readonly transport: typeof http | typeof https

  constructor(baseUrl: string) {
    const secure = new URL(baseUrl).protocol === 'https:'
    this.transport = secure ? https : http
    // lifo: the connection used last is the likeliest to still be open at the other end.
    const options = { keepAlive: true, scheduling: 'lifo' as const }
    this.agent = secure ? new https.Agent(options) : new http.Agent(options)
  }

  async request(
    url: URL,
    init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
  ): Promise<UpstreamResponse> {
    try {
      return await this.send(url, init)
    } catch (err) {
      // A kept-alive connection the upstream closed as we reused it: the request never reached
      // it, so sending it again on a new connection is safe (what Node's documentation advises).
      if (!(err instanceof ReusedConnectionReset) || init.signal.aborted)
        throw err instanceof ReusedConnectionReset ? err.cause : err
      return this.send(url, init)
    }
  }

  /** Closes the kept-alive connections (shutdown). */
  close(): void {
    this.agent.destroy()
  }

  private send(
    url: URL,
    init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
  ): Promise<UpstreamResponse> {
    const headers =
      init.body === undefined
        ? init.headers
        : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) }
    return new Promise((resolve, reject) => {
      const req = this.transport.request(
        url,
        { method: init.method, headers, agent: this.agent, signal: init.signal },
        (res) => {
          // The body's reader (an async iterator) reports errors; without a listener of our own, a
          // connection cut while nobody reads would be an uncaught 'error' event.
          res.on('error', () => {})
          resolve(wrap(res))
        },
      )
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(req.reusedSocket && err.code === 'ECONNRESET' ? new ReusedConnectionReset(err) : err),
      )
      req.end(init.body)
    })
  }
}

class ReusedConnectionReset extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message)
  }
}

function wrap(res: http.IncomingMessage): UpstreamResponse {
  return {
    status: res.statusCode ?? 0,
    header(name) {
      const value = res.headers[name]
      return Array.isArray(value) ? value.join(', ') : value
    },
    // Not destroyed when a reader stops at `data: [DONE]`: that would close a connection
    // whose response is about to end anyway.
    body: res.iterator({ destroyOnReturn: false }),
    async text() {
      const chunks: Buffer[] = []
      for await (const chunk of res) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks).toString('utf8')
    },
    release(reuse) {
      if (res.readableEnded || res.destroyed) return
      if (reuse) res.resume()
      else res.destroy()
    },
  }
}
