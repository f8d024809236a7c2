import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The project root: the nearest folder above this module with a package.json. The same from
 * the source tree (server/paths.ts under tsx) and the compiled one (dist/server/paths.js), so
 * runtime files (the built dashboard, default alert rules, package.json) resolve alike.
 */
function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`)
  }
}

export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)))

export const fromProjectRoot = (...parts: string[]): string => join(PROJECT_ROOT, ...parts)
