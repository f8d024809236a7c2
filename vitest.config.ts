import { svelte } from '@sveltejs/vite-plugin-svelte'
import { svelteTesting } from '@testing-library/svelte/vite'
import { defineConfig } from 'vitest/config'

/** What every Node-side test file gets: real apps take a while to build. */
const node = { environment: 'node' as const, testTimeout: 30_000, hookTimeout: 60_000 }

export default defineConfig({
  test: {
    // Each file builds real apps (PGlite, Postgres schemas, Redis prefixes); two at a time
    // matches the CI machine's two cores.
    maxWorkers: 2,
    projects: [
      // The server: unit and integration tests in Node.
      {
        test: {
          ...node,
          name: 'server',
          include: ['test/**/*.test.ts'],
          exclude: ['test/bench/**', 'test/e2e/**', 'node_modules/**'],
        },
      },
      // Dashboard components and state, compiled by the Svelte plugin, in jsdom.
      {
        plugins: [svelte({ configFile: false }), svelteTesting()],
        test: {
          name: 'dashboard',
          include: ['dashboard/test/**/*.test.ts'],
          environment: 'jsdom',
          setupFiles: ['dashboard/test/setup.ts'],
        },
      },
      // The built dashboard in a real Chromium against a real app (the global setup builds it).
      {
        test: {
          ...node,
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 120_000,
        },
      },
    ],
  },
})
