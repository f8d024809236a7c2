import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file builds real apps (PGlite, Postgres schemas, Redis prefixes); two at a time
    // matches the CI machine's two cores.
    maxWorkers: 2,
  },
})
