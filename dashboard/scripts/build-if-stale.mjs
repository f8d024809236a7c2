// Builds the dashboard into dashboard/dist, unless dist is newer than every source file
// (so `npm start` costs nothing when nothing changed). `--force` always builds.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isFresh } from '../../scripts/stale.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const sources = ['src', 'index.html', 'vite.config.ts', 'scripts', 'tsconfig.json'].map((p) => join(root, p))
const builtMarker = join(root, 'dist', 'index.html')

export function dashboardIsFresh() {
  return isFresh(builtMarker, sources)
}

/** Resolves true when it built, false when dist was already up to date. */
export async function buildDashboard({ force = false } = {}) {
  if (!force && dashboardIsFresh()) return false
  const { build } = await import('vite')
  // Always what ships: under vitest NODE_ENV is 'test', which would make Svelte compile in dev
  // mode (bigger, slower) and the e2e bundle-size check measure something nobody serves.
  const previous = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  try {
    await build({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn', mode: 'production' })
  } finally {
    if (previous === undefined) delete process.env.NODE_ENV
    else process.env.NODE_ENV = previous
  }
  return true
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const built = await buildDashboard({ force: process.argv.includes('--force') })
  if (!built) console.log('dashboard: dist is up to date')
}
