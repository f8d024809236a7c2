import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface AlertArrival {
  /** The path the notification was posted to: who sent it. */
  source: string
  status: string
  alertname: string
  at: number
}

/**
 * A webhook receiver for Alertmanager-format notifications (ours and Alertmanager's): it
 * records when each alert of each notification arrived, by the path it was posted to.
 */
export class WebhookSink {
  readonly arrivals: AlertArrival[] = []
  private waiters: Array<{ test: (a: AlertArrival) => boolean; resolve: (a: AlertArrival) => void }> = []
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<WebhookSink> {
    // eslint-disable-next-line prefer-const -- assigned once the server has a port; the handler reads it later
    let sink: WebhookSink | undefined
    const server = createServer((req, res) => {
      const at = Date.now()
      let raw = ''
      req.setEncoding('utf8')
      req.on('data', (d) => (raw += d))
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{}')
        try {
          const body = JSON.parse(raw) as { alerts?: Array<{ status?: string; labels?: Record<string, string> }> }
          for (const alert of body.alerts ?? []) {
            sink?.record({
              source: req.url ?? '/',
              status: alert.status ?? '?',
              alertname: alert.labels?.alertname ?? '?',
              at,
            })
          }
        } catch {
          // not a notification; ignore
        }
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    sink = new WebhookSink(server, `http://127.0.0.1:${port}`)
    return sink
  }

  private record(arrival: AlertArrival): void {
    this.arrivals.push(arrival)
    for (const waiter of [...this.waiters]) {
      if (waiter.test(arrival)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        waiter.resolve(arrival)
      }
    }
  }

  /** The first arrival after `since` that matches, already here or still to come; null on timeout. */
  waitFor(
    match: { source: string; status: string; alertname: string },
    since: number,
    timeoutMs: number,
  ): Promise<AlertArrival | null> {
    const test = (a: AlertArrival) =>
      a.source === match.source && a.status === match.status && a.alertname === match.alertname && a.at >= since
    const found = this.arrivals.find(test)
    if (found) return Promise.resolve(found)
    return new Promise((resolve) => {
      const waiter = {
        test,
        resolve: (a: AlertArrival) => {
          clearTimeout(timer)
          resolve(a)
        },
      }
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        resolve(null)
      }, timeoutMs)
      this.waiters.push(waiter)
    })
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
