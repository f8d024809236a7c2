import { createServer, connect, type Server, type Socket } from 'node:net'
import { freePort } from './process.js'

interface Pair {
  client: Socket
  upstream: Socket | null
}

/**
 * A TCP proxy on 127.0.0.1 in front of a real dependency, to make it unreachable without
 * stopping it for everyone else. Two kinds of cut:
 *  - `cut()`: every open connection is closed and new ones are refused, as when the target
 *    goes away;
 *  - `cut({ silent: true })`: forwarding stops in both directions without closing anything
 *    (no FIN, no RST), as with a dead link or a dropping firewall: the peers see silence, and
 *    new connections are accepted but never reach the target. Bytes sent meanwhile wait in
 *    the kernel's buffers and are delivered after `restore()`, unless a peer gave up and
 *    closed its end first (then its pair is closed, as a proxy would).
 * `restore()` forwards again.
 */
export class TcpProxy {
  private readonly pairs = new Set<Pair>()
  private isCut = false
  private refusing = false

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async start(target: { host?: string; port: number }): Promise<TcpProxy> {
    const port = await freePort()
    const server = createServer()
    const proxy = new TcpProxy(server, port, target.host ?? '127.0.0.1', target.port)
    server.on('connection', (client) => proxy.accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    return proxy
  }

  /** Connections currently open through the proxy (held ones included). */
  get connections(): number {
    return this.pairs.size
  }

  cut(options: { silent?: boolean } = {}): void {
    if (!options.silent) {
      this.refusing = true
      for (const pair of this.pairs) this.drop(pair)
      return
    }
    this.isCut = true
    for (const pair of this.pairs) {
      pair.client.pause()
      pair.upstream?.pause()
    }
  }

  restore(): void {
    this.refusing = false
    this.isCut = false
    for (const pair of this.pairs) {
      if (pair.upstream) {
        pair.client.resume()
        pair.upstream.resume()
      } else this.link(pair)
    }
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) this.drop(pair)
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.destroy()
      return
    }
    const pair: Pair = { client, upstream: null }
    this.pairs.add(pair)
    client.on('error', () => this.drop(pair))
    client.on('close', () => this.drop(pair))
    client.pause()
    if (!this.isCut) this.link(pair)
  }

  /** Connects a pair to the target and forwards both ways. */
  private link(pair: Pair): void {
    const upstream = connect(this.targetPort, this.targetHost)
    pair.upstream = upstream
    upstream.on('error', () => this.drop(pair))
    upstream.on('close', () => this.drop(pair))
    pair.client.on('data', (chunk) => {
      if (!upstream.write(chunk)) pair.client.pause()
    })
    upstream.on('drain', () => {
      if (!this.isCut) pair.client.resume()
    })
    upstream.on('data', (chunk) => {
      if (!pair.client.write(chunk)) upstream.pause()
    })
    pair.client.on('drain', () => {
      if (!this.isCut) upstream.resume()
    })
    if (this.isCut) upstream.pause()
    else pair.client.resume()
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return
    pair.client.destroy()
    pair.upstream?.destroy()
  }
}
