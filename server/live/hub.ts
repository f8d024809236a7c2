import type { FastifyBaseLogger } from 'fastify'
import type { WebSocket } from 'ws'
import type { Principal } from '../auth/access.js'
import type { Snapshot } from '../metrics/snapshot.js'
import type { LiveMessage } from '../contract/live.js'

export interface LiveLimits {
  /** Ping (and send a heartbeat message) this often. */
  heartbeatIntervalMs: number
  /** A peer that has not answered this many pings in a row is dropped. */
  missedPongsAllowed: number
  /** Above this many unsent bytes a peer gets no snapshots (the next one it can take is newer anyway). */
  skipSnapshotsAboveBytes: number
  /** Above this many unsent bytes a peer is closed with 1013: server memory stays bounded. */
  closeAboveBytes: number
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = {
  heartbeatIntervalMs: 15_000,
  missedPongsAllowed: 2,
  skipSnapshotsAboveBytes: 1024 * 1024,
  closeAboveBytes: 8 * 1024 * 1024,
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

  readonly limits: LiveLimits
  private readonly log: FastifyBaseLogger
  private readonly onCountChange: (connections: number) => void
  private readonly isTokenActive: (tokenId: string) => Promise<boolean>

  constructor(options: {
    limits: LiveLimits
    log: FastifyBaseLogger
    onCountChange: (connections: number) => void
    /** Asked every heartbeat for each open socket's token: a revoked token loses its socket. */
    isTokenActive: (tokenId: string) => Promise<boolean>
  }) {
    this.limits = options.limits
    this.log = options.log
    this.onCountChange = options.onCountChange
    this.isTokenActive = options.isTokenActive
  }

  get size(): number {
    return this.peers.size
  }

  stats(): LiveHubStats {
    return { connections: this.peers.size, ...this.counters }
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
   * sockets whose token was revoked.
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
    const verdicts = new Map<string, Promise<boolean>>()
    for (const peer of this.peers) {
      const { tokenId } = peer.principal
      if (!verdicts.has(tokenId)) verdicts.set(tokenId, this.isTokenActive(tokenId))
    }
    for (const peer of [...this.peers]) {
      if (!(await verdicts.get(peer.principal.tokenId))) {
        this.log.info({ peer: peer.principal.name }, 'live: closing a socket whose token was revoked')
        peer.socket.close(1008, 'token revoked')
      }
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
