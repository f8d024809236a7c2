import { realpath } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import si from 'systeminformation'

export interface DiskReading {
  mount: string
  usageRatio: number
  /** What this process may still write (blocks reserved for root excluded). */
  availableBytes: number
  /** used + available, as `df` counts it. */
  capacityBytes: number
}

export interface FsEntry {
  mount: string
  size: number
  used: number
  available: number
}

export type ListFilesystems = () => Promise<FsEntry[]>

const FS_SIZE_TIMEOUT_MS = 5_000

/** DATA_DIR may not exist yet: the mount that will hold it is its nearest existing ancestor's. */
async function existingRealPath(path: string): Promise<string> {
  let candidate = resolve(path)
  for (;;) {
    try {
      return await realpath(candidate)
    } catch {
      const parent = dirname(candidate)
      if (parent === candidate) return candidate
      candidate = parent
    }
  }
}

/** The filesystem holding `path`: the longest mount point that is a prefix of it. */
export function mountHolding(path: string, filesystems: FsEntry[]): FsEntry | null {
  let best: FsEntry | null = null
  for (const fs of filesystems) {
    const inside = fs.mount === '/' || path === fs.mount || path.startsWith(`${fs.mount}/`)
    if (inside && (!best || fs.mount.length > best.mount.length)) best = fs
  }
  return best
}

/**
 * Usage of the filesystem holding DATA_DIR. systeminformation's fsSize spawns `df`, so the
 * answer is refreshed at most every `refreshMs` (30 s) and the last one is reused between.
 * Usage is used / (used + available), as `df` computes Use%: blocks reserved for root are
 * not available to us, so a disk is full for this process before `size` is reached.
 */
export class DiskUsage {
  private last: DiskReading | null = null
  private lastRefreshAt: number | null = null

  constructor(
    private readonly dir: string,
    private readonly onError: (err: unknown) => void,
    private readonly refreshMs = 30_000,
    private readonly listFilesystems: ListFilesystems = () => si.fsSize(),
  ) {}

  /** The last reading, refreshed first when it is older than `refreshMs`. */
  async read(now = Date.now()): Promise<DiskReading | null> {
    const due = this.lastRefreshAt === null || now - this.lastRefreshAt >= this.refreshMs || now < this.lastRefreshAt
    if (!due) return this.last
    this.lastRefreshAt = now
    try {
      const [path, filesystems] = await Promise.all([
        existingRealPath(this.dir),
        withTimeout(this.listFilesystems(), FS_SIZE_TIMEOUT_MS),
      ])
      const fs = mountHolding(path, filesystems)
      const capacity = fs ? fs.used + fs.available : 0
      this.last =
        fs && capacity > 0
          ? { mount: fs.mount, usageRatio: fs.used / capacity, availableBytes: fs.available, capacityBytes: capacity }
          : null
    } catch (err) {
      this.onError(err)
    }
    return this.last
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`filesystem listing gave no answer within ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
