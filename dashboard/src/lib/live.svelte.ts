import type { HelloMessage, LiveMessage } from '../../../server/contract/index.js'
import { reconnectDelay } from './backoff.js'

export type LiveStatus = 'idle' | 'connecting' | 'live' | 'reconnecting'

type Handler<T extends LiveMessage['type']> = (message: Extract<LiveMessage, { type: T }>) => void

export interface LiveOptions {
  url: string
  /**
   * The session is gone: a 1008 close (LIVE_CLOSE_AUTH_ENDED: signed out, expired or revoked,
   * on any instance), or a socket that never opened while /api/auth/me says 401.
   */
  onAuthLost: () => void
  checkSession: () => Promise<boolean>
  createSocket?: (url: string) => WebSocket
  random?: () => number
}

/**
 * The dashboard's one WebSocket to `/api/live`: dispatches messages by type, reconnects with
 * backoff, and notices a silent connection (no message for over two heartbeats) and replaces
 * it. `status` drives the live/reconnecting indicator.
 */
export class LiveConnection {
  status = $state<LiveStatus>('idle')
  hello = $state.raw<HelloMessage['data'] | null>(null)
  /** When the next attempt happens (epoch ms), while reconnecting. */
  retryAt = $state<number | null>(null)

  private socket: WebSocket | null = null
  private attempt = 0
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private watchdog: ReturnType<typeof setTimeout> | undefined
  private readonly handlers = new Map<string, Set<(message: LiveMessage) => void>>()

  constructor(private readonly options: LiveOptions) {}

  on<T extends LiveMessage['type']>(type: T, handler: Handler<T>): () => void {
    let set = this.handlers.get(type)
    if (!set) this.handlers.set(type, (set = new Set()))
    set.add(handler as (message: LiveMessage) => void)
    return () => set.delete(handler as (message: LiveMessage) => void)
  }

  start(): void {
    if (this.status !== 'idle') return
    this.connect('connecting')
  }

  stop(): void {
    clearTimeout(this.retryTimer)
    clearTimeout(this.watchdog)
    const socket = this.socket
    this.socket = null
    socket?.close(1000, 'signed out')
    this.status = 'idle'
    this.retryAt = null
    this.hello = null
  }

  private connect(status: 'connecting' | 'reconnecting'): void {
    this.status = status
    this.retryAt = null
    const socket = (this.options.createSocket ?? ((url) => new WebSocket(url)))(this.options.url)
    this.socket = socket
    let opened = false
    socket.onopen = () => {
      opened = true
    }
    // A failed or refused connection also closes: onclose decides what happens next.
    socket.onerror = () => {}
    socket.onmessage = (event) => {
      if (this.socket !== socket) return
      let message: LiveMessage
      try {
        message = JSON.parse(String(event.data)) as LiveMessage
      } catch {
        return
      }
      this.armWatchdog(socket)
      if (message.type === 'hello') {
        this.hello = message.data
        this.attempt = 0
        this.status = 'live'
      }
      for (const handler of this.handlers.get(message.type) ?? []) handler(message)
    }
    socket.onclose = (event) => {
      if (this.socket !== socket) return
      this.socket = null
      clearTimeout(this.watchdog)
      void this.afterClose(opened, event.code)
    }
  }

  private async afterClose(opened: boolean, code: number): Promise<void> {
    // A refused upgrade looks like any failed connection in a browser: ask whether we are
    // still signed in before retrying forever with a dead session.
    if (code === 1008 || (!opened && !(await this.options.checkSession().catch(() => true)))) {
      this.stop()
      this.options.onAuthLost()
      return
    }
    if (this.status === 'idle') return
    this.status = 'reconnecting'
    const delay = reconnectDelay(this.attempt++, this.options.random)
    this.retryAt = Date.now() + delay
    this.retryTimer = setTimeout(() => this.connect('reconnecting'), delay)
  }

  /** No message (not even a heartbeat) for over two heartbeat intervals: the link is dead. */
  private armWatchdog(socket: WebSocket): void {
    clearTimeout(this.watchdog)
    const interval = this.hello?.heartbeatIntervalMs ?? 15_000
    this.watchdog = setTimeout(
      () => {
        // Do not wait for a closing handshake over a dead link: forget the socket and retry.
        this.socket = null
        socket.close(4000, 'no heartbeat')
        void this.afterClose(true, 4000)
      },
      interval * 2 + 5_000,
    )
  }
}
