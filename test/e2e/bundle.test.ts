import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { BundleReport } from '../../dashboard/scripts/bundle-report.js'

describe('the built dashboard', () => {
  const report = JSON.parse(
    readFileSync(new URL('../../dashboard/dist/bundle-report.json', import.meta.url), 'utf8'),
  ) as BundleReport

  it('ships at most 60 kB of gzipped JavaScript for the first page', () => {
    expect(report.initialJsGzipBytes).toBeLessThanOrEqual(60_000)
    expect(report.budgetGzipBytes).toBe(60_000)
  })

  it('loads every page but the Overview lazily', () => {
    const lazyPages = report.lazy.map((c) => c.module).filter((m): m is string => m !== null)
    expect(lazyPages).toEqual(
      expect.arrayContaining([
        'features/cache/Cache.svelte',
        'features/chat/Chat.svelte',
        'features/audit/Audit.svelte',
        'features/alerts/Alerts.svelte',
        'features/jobs/Jobs.svelte',
        'features/database/Database.svelte',
      ]),
    )
    expect(lazyPages).not.toContain('features/overview/Overview.svelte')
  })
})
