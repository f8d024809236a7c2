import { existsSync } from 'node:fs'
import { statfs } from 'node:fs/promises'
import { dirname } from 'node:path'
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { HealthCheck } from '../health/checks.js'

/** Below either mark, the disk holding DATA_DIR counts as down: writes (PGlite, logs) are about to fail. */
const MIN_FREE_BYTES = 64 * 1_048_576
const MIN_FREE_RATIO = 0.02

export async function diskFree(path: string): Promise<{ freeBytes: number; totalBytes: number }> {
  let existing = path
  // DATA_DIR may not exist yet (real Postgres, nothing stored locally): measure where it would be.
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing)
  const stats = await statfs(existing)
  return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize }
}

export const diskCheck =
  (dataDir: string): HealthCheck =>
  async () => {
    const { freeBytes, totalBytes } = await diskFree(dataDir)
    if (freeBytes < MIN_FREE_BYTES || (totalBytes > 0 && freeBytes / totalBytes < MIN_FREE_RATIO)) {
      throw new Error(`only ${Math.round(freeBytes / 1_048_576)} MiB free on the disk holding ${dataDir}`)
    }
  }

/**
 * Event-loop delay since the previous check (p99). The loop counts as down when it lags more
 * than `maxDelayMs`: timers, requests and the sampler are all late by that much.
 */
export class EventLoopProbe {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 })
  private lastP99Seconds = 0

  constructor(private readonly maxDelayMs: number) {
    this.histogram.enable()
  }

  /** The p99 delay measured by the last check, in seconds. */
  delaySeconds(): number {
    return this.lastP99Seconds
  }

  readonly check: HealthCheck = async () => {
    this.lastP99Seconds = this.histogram.count > 0 ? this.histogram.percentile(99) / 1e9 : 0
    this.histogram.reset()
    if (this.lastP99Seconds * 1000 > this.maxDelayMs) {
      throw new Error(`event loop lagging: p99 ${Math.round(this.lastP99Seconds * 1000)} ms over the last interval`)
    }
  }

  close(): void {
    this.histogram.disable()
  }
}
