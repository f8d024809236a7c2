import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface CgroupMemory {
  usedBytes: number
  limitBytes: number
}

async function readText(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch {
    return null
  }
}

function statValue(stat: string | null, key: string): number {
  const line = stat?.split('\n').find((l) => l.startsWith(`${key} `))
  return line ? Number(line.slice(key.length + 1)) || 0 : 0
}

/**
 * Memory use against the container's limit, when the process runs under one (Docker,
 * Kubernetes): the host's free memory says nothing about an OOM kill at the cgroup limit.
 * Used = usage − inactive file cache, the "working set" that kubelet and `docker stats`
 * report, because the kernel reclaims inactive page cache before killing anything.
 * cgroup v2 (`memory.max`) first, then v1 (`memory/memory.limit_in_bytes`). Null when there is
 * no limit, or the limit is not below the host's memory (v1 reports "unlimited" as a huge number).
 */
export async function readCgroupMemory(root: string, hostTotalBytes: number): Promise<CgroupMemory | null> {
  const v2Limit = await readText(join(root, 'memory.max'))
  if (v2Limit !== null) {
    if (v2Limit === 'max') return null
    const current = Number(await readText(join(root, 'memory.current')))
    const inactive = statValue(await readText(join(root, 'memory.stat')), 'inactive_file')
    return limited(Number(v2Limit), current - inactive, hostTotalBytes)
  }
  const v1Limit = await readText(join(root, 'memory', 'memory.limit_in_bytes'))
  if (v1Limit === null) return null
  const usage = Number(await readText(join(root, 'memory', 'memory.usage_in_bytes')))
  const inactive = statValue(await readText(join(root, 'memory', 'memory.stat')), 'total_inactive_file')
  return limited(Number(v1Limit), usage - inactive, hostTotalBytes)
}

function limited(limitBytes: number, usedBytes: number, hostTotalBytes: number): CgroupMemory | null {
  if (!Number.isFinite(limitBytes) || limitBytes <= 0 || limitBytes >= hostTotalBytes) return null
  if (!Number.isFinite(usedBytes)) return null
  return { limitBytes, usedBytes: Math.max(0, usedBytes) }
}
