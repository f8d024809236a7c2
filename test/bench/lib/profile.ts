import { mkdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { Proc } from './procs.js'
import { RESULTS_DIR, ROOT } from './settings.js'

export const PROFILER_PRELOAD = join(ROOT, 'test/bench/preload/profiler.ts')
export const profiling = process.env.BENCH_PROFILE === '1'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

function request(proc: Proc, message: object, answer: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${proc.name}: no ${answer}`)), 30_000)
    const onMessage = (m: { bench?: string }) => {
      if (m?.bench !== answer) return
      clearTimeout(timer)
      proc.child.off('message', onMessage)
      resolve()
    }
    proc.child.on('message', onMessage)
    proc.child.send(message)
  })
}

/** Profiles `proc` (started with PROFILER_PRELOAD and ipc) while `work` runs; returns the file. */
export async function profileWhile(proc: Proc, name: string, work: () => Promise<unknown>): Promise<string> {
  const dir = join(RESULTS_DIR, 'profiles')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}_${name}.cpuprofile`)
  await request(proc, { bench: 'profile-start' }, 'profile-started')
  try {
    await work()
  } finally {
    await request(proc, { bench: 'profile-stop', file }, 'profile-written')
  }
  return file
}

/** Where a frame's code lives: our file, a package, a Node module, or V8 itself. */
function category(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1]
  if (pkg) return pkg
  if (url.startsWith('node:')) return url.split('/').slice(0, 3).join('/')
  return relative(ROOT, url.replace(/^file:\/\//, ''))
}

/**
 * Self time by where the code lives (a native function's time counts for the JavaScript
 * that called it: a socket write made by pg is pg's), and our own functions by total time
 * (their synchronous callees included), as shares of the busy time, idle excluded.
 */
export function summarizeProfile(file: string, top = 10): { byCategory: string; ours: string } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const categories = new Map<string, number>()
  const oursTotal = new Map<string, number>()
  let busy = 0
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0
    const { functionName, url } = node.callFrame
    if (hits === 0 || functionName === '(idle)') continue
    busy += hits
    let owner: ProfileNode | undefined = node
    while (owner && !owner.callFrame.url && parent.has(owner.id)) owner = byId.get(parent.get(owner.id)!)
    const cat = owner?.callFrame.url
      ? category(owner.callFrame.url, owner.callFrame.functionName)
      : category(url, functionName)
    categories.set(cat, (categories.get(cat) ?? 0) + hits)
    // Every distinct function of ours on the stack gets these hits once.
    const seen = new Set<string>()
    for (
      let at: ProfileNode | undefined = node;
      at;
      at = parent.has(at.id) ? byId.get(parent.get(at.id)!) : undefined
    ) {
      const c = category(at.callFrame.url, at.callFrame.functionName)
      if (!/^(server|alerts)\//.test(c)) continue
      const key = `${at.callFrame.functionName || '(anonymous)'} (${c})`
      if (seen.has(key)) continue
      seen.add(key)
      oursTotal.set(key, (oursTotal.get(key) ?? 0) + hits)
    }
  }
  const share = (entries: Map<string, number>) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `${k} ${((v / busy) * 100).toFixed(1)} %`)
      .join('; ')
  return { byCategory: share(categories), ours: share(oursTotal) }
}

/** With BENCH_PROFILE=1: profiles one more run of `work` and says where the time went, as scenario notes. */
export async function profileNotes(proc: Proc, name: string, work: () => Promise<unknown>): Promise<string[]> {
  if (!profiling) return []
  const file = await profileWhile(proc, name, work)
  const { byCategory, ours } = summarizeProfile(file)
  return [
    `CPU profile of ours (${relative(ROOT, file)}), self time by module: ${byCategory}`,
    `Our functions by total (synchronous) time: ${ours}`,
  ]
}

type Sums = Map<string, { sum: number; count: number }>

async function queryTimes(url: string): Promise<Sums> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text())
  const sums: Sums = new Map()
  for (const m of text.matchAll(/^database_query_duration_seconds_(sum|count)\{([^}]*)\} ([\d.e+-]+)$/gm)) {
    const labels = m[2]!.replace(/"/g, '').replace(/,?instance=[^,]*/, '')
    const entry = sums.get(labels) ?? { sum: 0, count: 0 }
    entry[m[1] as 'sum' | 'count'] = Number(m[3])
    sums.set(labels, entry)
  }
  return sums
}

/**
 * Database time per request during `work`, from the service's own histogram: the waiting a
 * CPU profile does not show.
 */
export async function databaseNotes(
  url: string,
  requests: () => number,
  work: () => Promise<unknown>,
): Promise<string[]> {
  if (!profiling) return []
  const before = await queryTimes(url)
  await work()
  const after = await queryTimes(url)
  const n = requests()
  const parts: string[] = []
  for (const [labels, a] of after) {
    const b = before.get(labels) ?? { sum: 0, count: 0 }
    const count = a.count - b.count
    // Background work (alert evaluation, jobs) shows up too; only what requests do is of interest.
    if (count <= 0 || count / n < 0.01) continue
    parts.push(
      `${labels}: ${(count / n).toFixed(2)} per request, mean ${(((a.sum - b.sum) / count) * 1000).toFixed(2)} ms`,
    )
  }
  return parts.length ? [`Database queries during that run (${n} requests): ${parts.join('; ')}`] : []
}
