// Shared by the build-if-stale scripts: is an output older than any of its sources?
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** Newest modification time under a file or folder (0 when it does not exist). */
export function newestMtime(path) {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return readdirSync(path).reduce((newest, entry) => Math.max(newest, newestMtime(join(path, entry))), stat.mtimeMs)
}

/** True when `marker` exists and is newer than every source. */
export function isFresh(marker, sources) {
  return existsSync(marker) && statSync(marker).mtimeMs > Math.max(...sources.map(newestMtime))
}
