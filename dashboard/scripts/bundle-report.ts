import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Plugin } from 'vite'

interface ChunkLike {
  type: 'chunk'
  fileName: string
  code: string
  isEntry: boolean
  isDynamicEntry: boolean
  imports: string[]
  facadeModuleId: string | null
}

export interface BundleReport {
  /** gzip bytes of the JavaScript a first visit downloads: the entry and what it imports statically. */
  initialJsGzipBytes: number
  budgetGzipBytes: number
  initial: string[]
  /** Lazily loaded page chunks with their gzip bytes (shared static imports counted once, in initial). */
  lazy: Array<{ fileName: string; module: string | null; gzipBytes: number }>
}

const gzipBytes = (code: string) => gzipSync(code, { level: 9 }).length
const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`

/**
 * Prints the gzip size of the initial JavaScript at build time, writes it to
 * dist/bundle-report.json, and fails the build when it is over budget.
 */
export function bundleReport(options: { budgetGzipBytes: number }): Plugin {
  return {
    name: 'ccp-bundle-report',
    apply: 'build',
    writeBundle(output, bundle) {
      const chunks = new Map<string, ChunkLike>()
      for (const item of Object.values(bundle))
        if (item.type === 'chunk') chunks.set(item.fileName, item as unknown as ChunkLike)
      const initial = new Set<string>()
      const visit = (fileName: string) => {
        if (initial.has(fileName)) return
        initial.add(fileName)
        for (const dep of chunks.get(fileName)?.imports ?? []) visit(dep)
      }
      for (const chunk of chunks.values()) if (chunk.isEntry) visit(chunk.fileName)
      const initialJsGzipBytes = [...initial].reduce((sum, f) => sum + gzipBytes(chunks.get(f)!.code), 0)
      const lazy = [...chunks.values()]
        .filter((c) => !initial.has(c.fileName))
        .map((c) => ({
          fileName: c.fileName,
          module: c.isDynamicEntry ? (c.facadeModuleId?.split('/src/').pop() ?? null) : null,
          gzipBytes: gzipBytes(c.code),
        }))
      const report: BundleReport = {
        initialJsGzipBytes,
        budgetGzipBytes: options.budgetGzipBytes,
        initial: [...initial],
        lazy,
      }
      writeFileSync(join(output.dir!, 'bundle-report.json'), `${JSON.stringify(report, null, 2)}\n`)

      console.log(
        `\ninitial JS: ${kb(initialJsGzipBytes)} gzip (budget ${kb(options.budgetGzipBytes)}) — ${[...initial].join(', ')}`,
      )
      for (const c of lazy) console.log(`  lazy ${c.module ?? c.fileName}: ${kb(c.gzipBytes)} gzip`)
      if (initialJsGzipBytes > options.budgetGzipBytes) {
        this.error(
          `initial JS is ${kb(initialJsGzipBytes)} gzip, over the ${kb(options.budgetGzipBytes)} budget: load more of it lazily`,
        )
      }
    },
  }
}
