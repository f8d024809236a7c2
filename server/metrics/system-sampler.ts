import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import si from 'systeminformation'
import { readCgroupMemory } from './cgroup-memory.js'
import { CpuUsage } from './cpu-usage.js'
import { DiskUsage, type DiskReading } from './disk-usage.js'

export interface MemoryReading {
  usedBytes: number
  limitBytes: number
  ratio: number
  /** 'cgroup' when a container limit applies, else the host's memory. */
  source: 'cgroup' | 'host'
}

export interface SystemReading {
  cpuUsageRatio: number | null
  memory: MemoryReading | null
  disk: DiskReading | null
  /** p99 of the event-loop delay since the previous reading. */
  eventLoopDelayP99Seconds: number | null
  rssBytes: number
  heapUsedBytes: number
  heapTotalBytes: number
}

/** What the sampler needs from the machine; tests pass a fixed one. */
export interface SystemSource {
  read(now: number): Promise<SystemReading>
  close(): void
}

export interface SystemSamplerOptions {
  dataDir: string
  onError: (err: unknown, what: string) => void
  cgroupRoot?: string
  diskRefreshMs?: number
}

/** Reads CPU, memory, disk, event-loop delay and process memory, once per sampler tick. */
export class SystemSampler implements SystemSource {
  private readonly cpu = new CpuUsage()
  private readonly disk: DiskUsage
  private readonly loopDelay: IntervalHistogram
  private readonly cgroupRoot: string

  constructor(private readonly options: SystemSamplerOptions) {
    this.cgroupRoot = options.cgroupRoot ?? '/sys/fs/cgroup'
    this.disk = new DiskUsage(options.dataDir, (err) => options.onError(err, 'disk usage'), options.diskRefreshMs)
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 })
    this.loopDelay.enable()
  }

  async read(now: number): Promise<SystemReading> {
    const [memory, disk] = await Promise.all([this.memory(), this.disk.read(now)])
    const { rss, heapUsed, heapTotal } = process.memoryUsage()
    return {
      cpuUsageRatio: this.cpu.sample(),
      memory,
      disk,
      eventLoopDelayP99Seconds: this.eventLoopDelayP99(),
      rssBytes: rss,
      heapUsedBytes: heapUsed,
      heapTotalBytes: heapTotal,
    }
  }

  close(): void {
    this.loopDelay.disable()
  }

  private async memory(): Promise<MemoryReading | null> {
    try {
      const host = await si.mem()
      const cgroup = await readCgroupMemory(this.cgroupRoot, host.total)
      if (cgroup) return { ...cgroup, ratio: Math.min(1, cgroup.usedBytes / cgroup.limitBytes), source: 'cgroup' }
      // `available` counts reclaimable cache as free, as the kernel does; `used` would not.
      const usedBytes = host.total - host.available
      return host.total > 0
        ? { usedBytes, limitBytes: host.total, ratio: usedBytes / host.total, source: 'host' }
        : null
    } catch (err) {
      this.options.onError(err, 'memory usage')
      return null
    }
  }

  /** Over the last interval only (then reset), so that a stall shows up on the next tick. */
  private eventLoopDelayP99(): number | null {
    const histogram = this.loopDelay
    const value = histogram.count > 0 ? histogram.percentile(99) / 1e9 : null
    histogram.reset()
    return value
  }
}
