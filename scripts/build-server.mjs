// Compiles server/ and alerts/ into dist/ with tsc (tsconfig.build.json), unless dist is newer
// than every source file, so `npm start` costs nothing when nothing changed. `--force` always
// builds. The running service is then plain `node dist/server/main.js`: no tsx, no esbuild.
import { spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isFresh } from './stale.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const sources = ['server', 'alerts', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) => join(root, p))
const outDir = join(root, 'dist')
const marker = join(outDir, '.built')

export function serverIsFresh() {
  return isFresh(marker, sources)
}

/** Returns true when it built, false when dist was already up to date; throws when tsc fails. */
export function buildServer({ force = false } = {}) {
  if (!force && serverIsFresh()) return false
  // A clean tree: a source file moved or deleted must not live on in dist.
  rmSync(outDir, { recursive: true, force: true })
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
  if (result.status !== 0) throw new Error(`tsc failed (exit ${result.status ?? result.signal})`)
  writeFileSync(marker, new Date().toISOString() + '\n')
  return true
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    if (!buildServer({ force: process.argv.includes('--force') })) console.log('server: dist is up to date')
  } catch (err) {
    console.error(String(err instanceof Error ? err.message : err))
    process.exit(1)
  }
}
