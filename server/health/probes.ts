import type { DiskUsage } from '../infra/probes/disk.js'
import type { EventLoopLag } from '../infra/probes/event-loop.js'
import { HealthCheckFailure, type HealthCheck } from './checks.js'

/** Below either mark, the disk holding DATA_DIR counts as down: writes (PGlite, logs) are about to fail. */
const MIN_FREE_BYTES = 64 * 1_048_576
const MIN_FREE_RATIO = 0.02

/** The disk holding DATA_DIR, from the app's one disk measurement (refreshed every 30 s). */
export const diskCheck =
  (disk: DiskUsage, dataDir: string): HealthCheck =>
  async () => {
    const reading = await disk.read()
    if (!reading) throw new HealthCheckFailure('error', `could not measure the disk holding ${dataDir}`)
    const { availableBytes, capacityBytes } = reading
    if (availableBytes < MIN_FREE_BYTES || availableBytes / capacityBytes < MIN_FREE_RATIO) {
      throw new HealthCheckFailure(
        'low_disk',
        `only ${Math.round(availableBytes / 1_048_576)} MiB free on the disk holding ${dataDir}`,
      )
    }
  }

/**
 * The event loop counts as down when its p99 delay over the last window exceeds `maxDelayMs`:
 * timers, requests and the sampler are all late by that much.
 */
export const eventLoopCheck =
  (eventLoop: EventLoopLag, maxDelayMs: number): HealthCheck =>
  async () => {
    if (eventLoop.lagging(maxDelayMs)) {
      throw new HealthCheckFailure(
        'lagging',
        `event loop lagging: p99 ${Math.round(eventLoop.p99Seconds()! * 1000)} ms over the last interval`,
      )
    }
  }
