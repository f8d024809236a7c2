import si from 'systeminformation'
import { readCgroupMemory } from './cgroup-memory.js'
import { CpuUsage } from './cpu-usage.js'
import type { DiskReading, DiskUsage } from '../infra/probes/disk.js'
import type { EventLoopLag } from '../infra/probes/event-loop.js'

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
  /** p99 of the event-loop delay over the last completed window (EventLoopLag). */
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
  /** The app's disk and event-loop measurements (server/infra/probes), shared with health. */
  disk: DiskUsage
  eventLoop: EventLoopLag
  onError: (err: unknown, what: string) => void
  cgroupRoot?: string
}

/** Reads CPU, memory, disk, event-loop delay and process memory, once per sampler tick. */
export class SystemSampler implements SystemSource {
  private readonly cpu = new CpuUsage()
  private readonly cgroupRoot: string

  constructor(private readonly options: SystemSamplerOptions) {
    this.cgroupRoot = options.cgroupRoot ?? '/sys/fs/cgroup'
  }

  async read(now: number): Promise<SystemReading> {
    const [memory, disk] = await Promise.all([this.memory(), this.options.disk.read(now)])
    const { rss, heapUsed, heapTotal } = process.memoryUsage()
    return {
      cpuUsageRatio: this.cpu.sample(),
      memory,
      disk,
      eventLoopDelayP99Seconds: this.options.eventLoop.p99Seconds(now),
      rssBytes: rss,
      heapUsedBytes: heapUsed,
      heapTotalBytes: heapTotal,
    }
  }

  /** The probes belong to the app and are closed with it. */
  close(): void {}

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
}
