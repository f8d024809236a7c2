import type { FastifyBaseLogger } from 'fastify'
import type { AppEvents } from '../events.js'
import type { PoolStats } from './db-instrumentation.js'
import type { Metrics } from './definitions.js'
import { ReadingWindow } from './reading-window.js'
import { readRegistry } from './registry-reading.js'
import type { SeriesStore } from './series-store.js'
import { updateSignalGauges } from './signal-gauges.js'
import type { SamplerHandle, SignalSample, SignalSource, Snapshot } from './snapshot.js'
import type { SystemReading, SystemSource } from './system-sampler.js'
import { chatCachedRatio, windowSignals } from './window-signals.js'

export interface SamplerOptions {
  metrics: Metrics
  system: SystemSource
  series: SeriesStore
  events: AppEvents
  instance: string
  windowMs: number
  /** Current pool counts (also updates the pool gauges); null without a pool. */
  pool: () => PoolStats | null
  log: FastifyBaseLogger
}

/** What a tick measured beyond the signals, for /api/performance. */
export interface SampleDetail {
  system: SystemReading
  pool: PoolStats | null
  chatCachedRatio: number | null
}

/**
 * Builds one Snapshot per tick (ARCHITECTURE.md "Data flow"): registry deltas over the sliding
 * window, the machine, the pool, health, and what other features contribute through
 * addSource; then appends it to the series, mirrors it into gauges and emits 'snapshot'.
 * Ticks never overlap: a tick asked for while one runs waits for it.
 */
export class Sampler implements SamplerHandle {
  private readonly sources = new Map<string, SignalSource>()
  private readonly window: ReadingWindow
  private last: Snapshot | null = null
  private lastDetail: SampleDetail | null = null
  private queue: Promise<unknown> = Promise.resolve()
  private running = false
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly options: SamplerOptions) {
    this.window = new ReadingWindow(options.windowMs)
  }

  /** Another feature's signals in every snapshot; the same name replaces the earlier source. */
  addSource(name: string, source: SignalSource): void {
    this.sources.set(name, source)
  }

  latest(): Snapshot | null {
    return this.last
  }

  latestDetail(): SampleDetail | null {
    return this.lastDetail
  }

  /** Records a registry reading without a snapshot, so that the first tick already has a window. */
  async prime(now = Date.now()): Promise<void> {
    await this.serialized(async () => {
      this.window.push(now, await readRegistry(this.options.metrics))
    })
  }

  tick(now = Date.now()): Promise<Snapshot> {
    return this.serialized(() => this.sample(now))
  }

  /** Ticks every `intervalMs` until stop(); a tick still running when the next is due is not doubled. */
  start(intervalMs: number): void {
    this.stop()
    this.timer = setInterval(() => {
      if (this.running) return
      this.tick().catch((err) => this.options.log.error({ err }, 'sampler tick failed'))
    }, intervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** Whether the timer is on (between start() and stop()). */
  isTicking(): boolean {
    return this.timer !== undefined
  }

  /** Resolves when no tick is running (shutdown waits for the last one). */
  async idle(): Promise<void> {
    await this.queue
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      this.running = true
      try {
        return await work()
      } finally {
        this.running = false
      }
    })
    this.queue = next.catch(() => {})
    return next
  }

  private async sample(now: number): Promise<Snapshot> {
    const { metrics, system, log } = this.options
    const reading = await readRegistry(metrics)
    const baseline = this.window.push(now, reading)
    const current = { at: now, reading }
    const machine = await system.read(now)
    const pool = this.options.pool()

    const signals: SignalSample[] = [
      ...windowSignals(current, baseline),
      { name: 'db_pool_waiting', labels: {}, value: pool ? pool.waiting : null },
      { name: 'system_cpu_usage_ratio', labels: {}, value: machine.cpuUsageRatio },
      { name: 'system_memory_usage_ratio', labels: {}, value: machine.memory?.ratio ?? null },
      ...(machine.disk
        ? [{ name: 'system_disk_usage_ratio', labels: { mount: machine.disk.mount }, value: machine.disk.usageRatio }]
        : []),
      { name: 'event_loop_delay_p99_seconds', labels: {}, value: machine.eventLoopDelayP99Seconds },
      { name: 'process_rss_bytes', labels: {}, value: machine.rssBytes },
      ...this.sourceSignals(now),
    ]
    updateSignalGauges(metrics, signals)

    const snapshot: Snapshot = { at: now, instance: this.options.instance, signals }
    this.options.series.append(snapshot)
    this.last = snapshot
    this.lastDetail = { system: machine, pool, chatCachedRatio: chatCachedRatio(current, baseline) }
    try {
      this.options.events.emit('snapshot', snapshot)
    } catch (err) {
      // A listener's failure is its own; the sampler keeps sampling.
      log.error({ err }, 'a snapshot listener failed')
    }
    return snapshot
  }

  private sourceSignals(now: number): SignalSample[] {
    const signals: SignalSample[] = []
    for (const [name, source] of this.sources) {
      try {
        const contributed = source(now)
        if (Array.isArray(contributed)) signals.push(...contributed)
      } catch (err) {
        this.options.log.warn(
          { err, source: name },
          'a signal source failed; its signals are missing from this snapshot',
        )
      }
    }
    return signals
  }
}
