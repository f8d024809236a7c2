import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { CpuInfo } from 'node:os'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readCgroupMemory } from '../../../server/metrics/cgroup-memory.js'
import { CpuUsage } from '../../../server/metrics/cpu-usage.js'
import { DiskUsage, mountHolding, type FsEntry } from '../../../server/infra/probes/disk.js'
import { EventLoopLag } from '../../../server/infra/probes/event-loop.js'
import { SystemSampler } from '../../../server/metrics/system-sampler.js'

const GiB = 1024 ** 3
const dirs: string[] = []
function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ccp-metrics-'))
  dirs.push(dir)
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('readCgroupMemory', () => {
  it('uses a cgroup v2 limit, counting usage without inactive file cache', async () => {
    const root = tempDir({
      'memory.max': `${2 * GiB}\n`,
      'memory.current': `${GiB}\n`,
      'memory.stat': `anon 100\ninactive_file ${GiB / 2}\nactive_file 7\n`,
    })
    expect(await readCgroupMemory(root, 64 * GiB)).toEqual({ limitBytes: 2 * GiB, usedBytes: GiB / 2 })
  })

  it('ignores an unlimited v2 cgroup', async () => {
    const root = tempDir({ 'memory.max': 'max\n', 'memory.current': '123\n' })
    expect(await readCgroupMemory(root, 64 * GiB)).toBeNull()
  })

  it('falls back to cgroup v1, where "unlimited" is a number above the host memory', async () => {
    const limited = tempDir({
      'memory/memory.limit_in_bytes': `${GiB}`,
      'memory/memory.usage_in_bytes': `${GiB / 2}`,
      'memory/memory.stat': `total_inactive_file ${GiB / 4}\n`,
    })
    expect(await readCgroupMemory(limited, 64 * GiB)).toEqual({ limitBytes: GiB, usedBytes: GiB / 4 })
    const unlimited = tempDir({
      'memory/memory.limit_in_bytes': '9223372036854771712',
      'memory/memory.usage_in_bytes': '1000',
    })
    expect(await readCgroupMemory(unlimited, 64 * GiB)).toBeNull()
  })

  it('is null without any cgroup files', async () => {
    expect(await readCgroupMemory(tempDir(), 64 * GiB)).toBeNull()
  })
})

describe('CpuUsage', () => {
  const cpu = (busy: number, idle: number): CpuInfo => ({
    model: 'x',
    speed: 1,
    times: { user: busy, nice: 0, sys: 0, irq: 0, idle },
  })

  it('reports busy time / total time between two samples, per instance', () => {
    const readings = [
      [cpu(100, 900), cpu(100, 900)],
      [cpu(175, 925), cpu(150, 950)],
      [cpu(175, 925), cpu(150, 950)],
    ]
    const usage = new CpuUsage(() => readings.shift()!)
    // +75 +50 busy of +100 +100 total.
    expect(usage.sample()).toBeCloseTo(0.625, 10)
    // No time passed: nothing to say.
    expect(usage.sample()).toBeNull()
  })
})

/** What DiskUsage reports for '/' with `used` and `available` bytes. */
const rootReading = (used: number, available: number) => ({
  mount: '/',
  usageRatio: used / (used + available),
  availableBytes: available,
  capacityBytes: used + available,
})

describe('DiskUsage', () => {
  const filesystems: FsEntry[] = [
    { mount: '/', size: 100, used: 40, available: 50 },
    { mount: '/var', size: 100, used: 90, available: 10 },
    { mount: '/var/lib/data', size: 1000, used: 100, available: 900 },
  ]

  it('picks the longest mount point holding the path', () => {
    expect(mountHolding('/var/lib/data/pglite', filesystems)?.mount).toBe('/var/lib/data')
    expect(mountHolding('/var/lib/other', filesystems)?.mount).toBe('/var')
    expect(mountHolding('/variable', filesystems)?.mount).toBe('/')
  })

  it('lists filesystems at most once per refresh interval and reports used / (used + available)', async () => {
    let listings = 0
    const list = async () => {
      listings++
      return [{ mount: '/', size: 100, used: 40 + listings, available: 50 }]
    }
    const disk = new DiskUsage(
      '/',
      (err) => {
        throw err
      },
      30_000,
      list,
    )
    expect(await disk.read(1_000_000)).toEqual(rootReading(41, 50))
    expect(await disk.read(1_029_999)).toEqual(rootReading(41, 50))
    expect(listings).toBe(1)
    expect(await disk.read(1_030_000)).toEqual(rootReading(42, 50))
    expect(listings).toBe(2)
  })

  it('keeps the last answer and reports the error when listing fails', async () => {
    const errors: unknown[] = []
    let fail = false
    const disk = new DiskUsage(
      '/',
      (err) => errors.push(err),
      1_000,
      async () => {
        if (fail) throw new Error('df failed')
        return [{ mount: '/', size: 10, used: 5, available: 5 }]
      },
    )
    expect(await disk.read(0)).toEqual(rootReading(5, 5))
    fail = true
    expect(await disk.read(5_000)).toEqual(rootReading(5, 5))
    expect(errors).toHaveLength(1)
  })
})

describe('SystemSampler on this machine', () => {
  it('reads memory, disk of a not-yet-created data dir, process memory and event-loop delay', async () => {
    const dataDir = join(tempDir(), 'not', 'created', 'yet')
    const errors: unknown[] = []
    const eventLoop = new EventLoopLag(10)
    const disk = new DiskUsage(dataDir, (err) => errors.push(err))
    const sampler = new SystemSampler({ disk, eventLoop, onError: (err) => errors.push(err) })
    try {
      await new Promise((resolve) => setTimeout(resolve, 30))
      const reading = await sampler.read(Date.now())
      expect(errors).toEqual([])
      expect(reading.memory!.ratio).toBeGreaterThan(0)
      expect(reading.memory!.ratio).toBeLessThanOrEqual(1)
      expect(reading.disk!.usageRatio).toBeGreaterThan(0)
      expect(reading.disk!.mount.startsWith('/')).toBe(true)
      expect(reading.rssBytes).toBeGreaterThan(0)
      expect(reading.heapUsedBytes).toBeGreaterThan(0)
      expect(reading.eventLoopDelayP99Seconds).toBeGreaterThan(0)
      const cpu = reading.cpuUsageRatio
      expect(cpu === null || (cpu >= 0 && cpu <= 1)).toBe(true)
    } finally {
      eventLoop.close()
    }
  })
})
