import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vite'
import { bundleReport } from './scripts/bundle-report.ts'
import { apiProxy } from './scripts/dev-proxy.ts'

const root = dirname(fileURLToPath(import.meta.url))

/** The admin dashboard: built to dashboard/dist, which the server serves at `/`. */
export default defineConfig({
  root,
  base: '/',
  plugins: [svelte({ configFile: false }), bundleReport({ budgetGzipBytes: 60_000 })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline module-preload polyfill: the CSP allows no inline scripts.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    // Svelte compiles dominate the build by design; the timing advice is noise here.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  server: {
    // `npx vite dashboard` during development talks to a server on :3000 (its default
    // PUBLIC_URL), vouching for the Origin of its own pages (see dev-proxy.ts).
    proxy: { '/api': apiProxy('http://127.0.0.1:3000') },
  },
})
