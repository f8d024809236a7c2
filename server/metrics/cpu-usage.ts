import { cpus, type CpuInfo } from 'node:os'

interface CpuTimes {
  busy: number
  total: number
}

function totals(list: CpuInfo[]): CpuTimes {
  let busy = 0
  let total = 0
  for (const { times } of list) {
    busy += times.user + times.nice + times.sys + times.irq
    total += times.user + times.nice + times.sys + times.irq + times.idle
  }
  return { busy, total }
}

/**
 * Host CPU usage (0..1) between two calls, from the kernel's per-CPU time counters. This is
 * what systeminformation's currentLoad() computes too, but it keeps its previous reading in
 * module state shared by every app in the process and runs `cat /proc/stat` through
 * execSync on each call, blocking the event loop every sample; one instance per sampler
 * keeps its own baseline and never blocks.
 */
export class CpuUsage {
  private previous: CpuTimes

  constructor(private readonly readCpus: () => CpuInfo[] = cpus) {
    this.previous = totals(this.readCpus())
  }

  /** Usage since the previous call (or construction); null when no time has passed. */
  sample(): number | null {
    const current = totals(this.readCpus())
    const total = current.total - this.previous.total
    const busy = current.busy - this.previous.busy
    this.previous = current
    if (total <= 0) return null
    return Math.min(1, Math.max(0, busy / total))
  }
}
