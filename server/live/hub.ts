import type { FastifyBaseLogger } from 'fastify'
import type { WebSocket } from 'ws'
import type { Principal } from '../auth/access.js'
import type { EndedCredentials } from '../auth/authenticator.js'
import type { Snapshot } from '../metrics/snapshot.js'
import { LIVE_CLOSE_AUTH_ENDED, type LiveMessage } from '../contract/live.js'

export interface LiveLimits {
  /** Ping (and send a heartbeat message) this often. */
  heartbeatIntervalMs: number
  /** A peer that has not answered this many pings in a row is dropped. */
  missedPongsAllowed: number
  /** Above this many unsent bytes a peer gets no snapshots (the next one it can take is newer anyway). */
  skipSnapshotsAboveBytes: number
  /** Above this many unsent bytes a peer is closed with 1013: server memory stays bounded. */
  closeAboveBytes: number
  /** Open sockets on this instance, all tokens together (LIVE_MAX_CONNECTIONS). */
  maxConnections: number
  /** Open sockets of one token on this instance, its sessions included (LIVE_MAX_CONNECTIONS_PER_TOKEN). */
  maxConnectionsPerToken: number
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = {
  heartbeatIntervalMs: 15_000,
  missedPongsAllowed: 2,
  skipSnapshotsAboveBytes: 1024 * 1024,
  closeAboveBytes: 8 * 1024 * 1024,
  maxConnections: 5_000,
  maxConnectionsPerToken: 100,
}

/** Why a connection was not admitted: this instance is full, or the token has its most sockets open. */
export type LiveRefusal = 'instance-full' | 'token-full'

/** What admit() needs of the connection: its end (the TCP socket's close). */
interface Closable {
  once(event: 'close', listener: () => void): unknown
}

export interface LivePeer {
  readonly socket: WebSocket
  readonly principal: Principal
  missedPongs: number
  skippedSnapshots: number
}

export interface LiveHubStats {
  connections: number
  /** Snapshot frames not sent to slow peers since the hub started. */
  skippedSnapshots: number
  /** Peers closed for reading too slowly, or dropped for missing pings, since the hub started. */
  closedSlow: number
  droppedUnresponsive: number
}

/**
 * The set of open dashboard sockets and the rules for writing to them: a frame is
 * serialised once per broadcast, slow readers skip snapshots and are cut off before they
 * can make the server buffer without bound, and silent peers are dropped.
 */
export class LiveHub {
  private readonly peers = new Set<LivePeer>()
  private readonly counters = { skippedSnapshots: 0, closedSlow: 0, droppedUnresponsive: 0 }
  /** Connections admitted and not yet closed (upgrading or open), all and by token: what the caps count. */
  private admitted = 0
  private readonly admittedByToken = new Map<string, number>()

  readonly limits: LiveLimits
  private readonly log: FastifyBaseLogger
  private readonly onCountChange: (connections: number) => void
  private readonly isActive: (principal: Principal) => Promise<boolean>

  constructor(options: {
    limits: LiveLimits
    log: FastifyBaseLogger
    onCountChange: (connections: number) => void
    /**
     * Asked every heartbeat for each open socket's credentials (its session, or its bearer
     * token): a socket whose credentials ended without this hub being told (an expired
     * session, a message missed while Redis was away) is closed then.
     */
    isActive: (principal: Principal) => Promise<boolean>
  }) {
    this.limits = options.limits
    this.log = options.log
    this.onCountChange = options.onCountChange
    this.isActive = options.isActive
  }

  get size(): number {
    return this.peers.size
  }

  stats(): LiveHubStats {
    return { connections: this.peers.size, ...this.counters }
  }

  /**
   * Takes a place for a connection of `principal` before its upgrade, held until `connection`
   * (the TCP socket) closes; the refusal instead when the caps are reached. Counting from
   * before the upgrade keeps concurrent upgrades from all passing the check together.
   */
  admit(principal: Principal, connection: Closable): LiveRefusal | null {
    const { tokenId } = principal
    const ofToken = this.admittedByToken.get(tokenId) ?? 0
    if (this.admitted >= this.limits.maxConnections) return 'instance-full'
    if (ofToken >= this.limits.maxConnectionsPerToken) return 'token-full'
    this.admitted++
    this.admittedByToken.set(tokenId, ofToken + 1)
    connection.once('close', () => {
      this.admitted--
      const left = (this.admittedByToken.get(tokenId) ?? 1) - 1
      if (left > 0) this.admittedByToken.set(tokenId, left)
      else this.admittedByToken.delete(tokenId)
    })
    return null
  }

  add(socket: WebSocket, principal: Principal): LivePeer {
    const peer: LivePeer = { socket, principal, missedPongs: 0, skippedSnapshots: 0 }
    this.peers.add(peer)
    this.onCountChange(this.peers.size)
    socket.on('pong', () => {
      peer.missedPongs = 0
    })
    socket.once('close', () => {
      this.peers.delete(peer)
      this.onCountChange(this.peers.size)
    })
    return peer
  }

  send(peer: LivePeer, message: LiveMessage): void {
    this.write(peer, JSON.stringify(message))
  }

  broadcastSnapshot(snapshot: Snapshot): void {
    if (this.peers.size === 0) return
    const frame = JSON.stringify({ type: 'snapshot', data: snapshot } satisfies LiveMessage)
    for (const peer of this.peers) {
      if (peer.socket.bufferedAmount > this.limits.skipSnapshotsAboveBytes) {
        peer.skippedSnapshots++
        this.counters.skippedSnapshots++
        // Still enforce the hard limit: events may have filled the buffer.
        this.enforceLimit(peer)
        continue
      }
      this.write(peer, frame)
    }
  }

  broadcast(message: LiveMessage): void {
    if (this.peers.size === 0) return
    const frame = JSON.stringify(message)
    for (const peer of this.peers) this.write(peer, frame)
  }

  /**
   * One heartbeat round (the interval timer calls this; tests call it directly): drops peers
   * that missed too many pings, pings the rest and sends them a heartbeat message so that
   * the browser, which cannot see pings, knows the connection is alive; then closes the
   * sockets whose credentials ended (an expired session, a revocation it was not told of).
   */
  async heartbeat(now = Date.now()): Promise<void> {
    const frame = JSON.stringify({ type: 'heartbeat', data: { at: now } } satisfies LiveMessage)
    for (const peer of this.peers) {
      if (peer.missedPongs >= this.limits.missedPongsAllowed) {
        this.counters.droppedUnresponsive++
        this.log.info({ peer: peer.principal.name, missedPongs: peer.missedPongs }, 'live: dropping unresponsive peer')
        this.peers.delete(peer)
        this.onCountChange(this.peers.size)
        peer.socket.terminate()
        continue
      }
      peer.missedPongs++
      try {
        peer.socket.ping()
      } catch {
        // Socket already closing; its close event removes the peer.
      }
      this.write(peer, frame)
    }
    await this.closeRevoked()
  }

  private async closeRevoked(): Promise<void> {
    const key = (principal: Principal) => principal.session?.id ?? principal.tokenId
    const verdicts = new Map<string, Promise<boolean>>()
    for (const peer of this.peers) {
      const k = key(peer.principal)
      if (!verdicts.has(k)) verdicts.set(k, this.isActive(peer.principal))
    }
    for (const peer of [...this.peers]) {
      if (!(await verdicts.get(key(peer.principal)))) {
        const reason = peer.principal.session ? 'session ended' : 'token revoked'
        this.log.info({ peer: peer.principal.name, reason }, 'live: closing a socket whose credentials ended')
        peer.socket.close(LIVE_CLOSE_AUTH_ENDED, reason)
      }
    }
  }

  /**
   * Credentials ended (a token revoked, a session signed out; here or on another instance):
   * their sockets are closed now, with the code that sends the dashboard to sign-in.
   */
  closeEnded(ended: EndedCredentials): void {
    const matches =
      'sessionId' in ended
        ? (p: Principal) => p.session?.id === ended.sessionId
        : (p: Principal) => p.tokenId === ended.tokenId
    const reason = 'sessionId' in ended ? 'signed out' : 'token revoked'
    for (const peer of this.peers) {
      if (!matches(peer.principal)) continue
      this.log.info({ peer: peer.principal.name, reason }, 'live: closing a socket whose credentials ended')
      peer.socket.close(LIVE_CLOSE_AUTH_ENDED, reason)
    }
  }

  closeAll(code: number, reason: string): void {
    for (const peer of this.peers) peer.socket.close(code, reason)
  }

  terminateAll(): void {
    for (const peer of this.peers) peer.socket.terminate()
  }

  private write(peer: LivePeer, frame: string): void {
    if (peer.socket.readyState !== peer.socket.OPEN) return
    if (this.enforceLimit(peer)) return
    peer.socket.send(frame, (err) => {
      if (err) this.log.debug({ err }, 'live: send failed')
    })
  }

  /** Closes a peer past the hard buffer limit; true when it did. */
  private enforceLimit(peer: LivePeer): boolean {
    if (peer.socket.bufferedAmount <= this.limits.closeAboveBytes) return false
    if (peer.socket.readyState === peer.socket.OPEN) {
      this.counters.closedSlow++
      this.log.warn(
        { peer: peer.principal.name, bufferedBytes: peer.socket.bufferedAmount },
        'live: closing a peer that reads too slowly',
      )
      peer.socket.close(1013, 'reading too slowly')
    }
    return true
  }
}
