import type { Distribution } from './stats.js'

/** autocannon against one URL for a fixed time (optionally at a fixed overall rate). */
export interface HttpLoad {
  op: 'http'
  url: string
  method?: string
  headers?: Record<string, string>
  body?: string
  /** Send these bodies in turn (one counter across all connections, so concurrent requests differ). */
  bodies?: string[]
  connections: number
  pipelining?: number
  durationSec: number
  overallRate?: number
  /** Replace `[<id>]` in the body with a fresh id per request (cache misses). */
  idReplacement?: boolean
  timeoutSec?: number
  /** Also GET this URL every intervalMs while the load runs (a Prometheus scrape). */
  scrape?: { url: string; intervalMs: number; headers?: Record<string, string> }
}

export interface HttpResult {
  /** 2xx responses per second: the throughput figure. */
  okPerSec: number
  requestsPerSec: number
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number }
  ok: number
  non2xx: number
  errors: number
  timeouts: number
  durationSec: number
  scrapes: number
  scrapeErrors: number
}

/** One request at a time, for latency; `{{seq}}` in the body becomes unique per request. */
export interface SequentialLoad {
  op: 'sequential'
  url: string
  method?: string
  headers?: Record<string, string>
  body?: string
  durationMs: number
  maxRequests?: number
  warmup?: number
}

export interface SequentialResult {
  latencyUs: Distribution
  failures: number
  lastFailure: string
}

export type LoadRequest =
  | HttpLoad
  | SequentialLoad
  /** Opens `clients` WebSockets and keeps them; frames starting with `marker` carrying `"at":<epoch ms>` are timed. */
  | {
      op: 'ws-open'
      url: string
      headers?: Record<string, string>
      clients: number
      marker: string
      concurrency?: number
    }
  | { op: 'ws-measure'; handle: number; durationMs: number }
  | { op: 'ws-close'; handle: number }

export interface WsOpenResult {
  handle: number
  connected: number
  failed: number
  lastError: string
  connectMs: number
}

export interface WsMeasureResult {
  delayMs: Distribution
  frames: number
  framesPerSec: number
  /** Distinct snapshots received during the window, and frames per snapshot (= clients when none is lost). */
  snapshots: number
  framesPerSnapshot: number
  open: number
  closedEarly: number
}
