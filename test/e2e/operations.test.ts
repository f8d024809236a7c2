import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, createTestApp, type TestApp } from '../helpers/app.js'
import { listenOnce } from '../helpers/live-client.js'
import { launchBrowser, screenshot, signIn, type Browser } from './harness.js'

/**
 * The pages where admins act on the system: Jobs, Database and Alerts. Every check compares
 * what the page shows with what the server recorded.
 */

async function goTo(page: Page, title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: title, exact: true }).click()
  await page.getByRole('heading', { level: 1, name: title }).waitFor()
}

const count = (text: string | null) => Number((text ?? '').replace(/[^\d]/g, ''))

describe.each(backends)('Jobs, Database and Alerts pages in Chromium ($name)', (backend) => {
  let t: TestApp
  let baseUrl: string
  let browser: Browser
  let page: Page
  let viewerToken: string

  beforeAll(async () => {
    t = await createTestApp(backend, {
      env: {
        INSTANCE_ID: `e2e-ops-${backend.name.replace(/\W/g, '-')}`,
        // Any dead tuple makes a table worth vacuuming, so that Optimize has work to report.
        VACUUM_MIN_DEAD_TUPLES: '1',
        VACUUM_DEAD_TUPLE_RATIO: '0',
      },
    })
    baseUrl = await listenOnce(t.app)
    const viewer = await t.app.inject({ method: 'POST', url: '/api/tokens', headers: t.auth(), payload: { name: 'e2e ops viewer', role: 'viewer' } })
    viewerToken = viewer.json().secret
    browser = await launchBrowser()
    page = await browser.newPage()
    await signIn(page, baseUrl, t.adminToken)
    await page.getByTestId('live-status').filter({ hasText: 'Live' }).waitFor()
  })
  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  const shot = (name: string) => screenshot(page, `${backend.name.replace(/\W/g, '-')}-${name}`)

  it('lists the jobs with their schedule in words and as cron, runs one and shows it finish', async () => {
    await goTo(page, 'Jobs')
    const row = page.locator('tr[data-job="retention"]')
    await row.waitFor()
    const { job } = (await t.app.inject({ method: 'GET', url: '/api/jobs/retention', headers: t.auth() })).json()
    await row.getByText(job.scheduleDescription).waitFor()
    expect(await row.locator('code').first().textContent()).toBe(job.schedule)

    await row.getByRole('button', { name: 'Run now' }).click()
    // The toast comes from the run's 'finished' event, live.
    await page.getByRole('status').filter({ hasText: 'retention finished in' }).waitFor()
    const { runs } = (await t.app.inject({ method: 'GET', url: '/api/jobs/retention/runs?limit=1', headers: t.auth() })).json()
    expect(runs[0]).toMatchObject({ trigger: 'manual', status: 'success' })
    await row.locator('.last').getByText('success').waitFor()
    await row.locator('.last').getByText('manual').waitFor()

    await row.getByRole('button', { name: 'Runs of retention' }).click()
    const history = page.getByTestId('run-history')
    await history.waitFor()
    const first = history.locator('tbody tr').first()
    expect(await first.locator('td').nth(1).textContent()).toBe('manual')
    expect(await first.locator('td').nth(3).textContent()).toBe('success')
    await first.getByText('Report').click()
    const report = first.locator('dl.report').first()
    await report.waitFor()
    // Every part of the stored report is on screen, named in words.
    const terms = await report.locator(':scope > dt').allTextContents()
    const words = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/_/g, ' ').toLowerCase()
    expect(terms).toEqual(Object.keys(runs[0].output).map(words))
    await shot('jobs')
  })

  it('optimizes the database after a confirmation and shows the report with dead tuples before and after', async () => {
    // Dead tuples to clean up: every update leaves the old row version behind.
    for (let i = 0; i < 3; i++) await t.app.db.updateTable('api_tokens').set((eb) => ({ name: eb.ref('name') })).execute()

    await goTo(page, 'Database')
    await page.getByTestId('db-overview').waitFor()
    await page.getByTestId('db-tables').getByText('api_tokens', { exact: true }).waitFor()
    await page.getByTestId('db-indexes').waitFor()
    await page.getByRole('region', { name: 'Slow queries' }).getByText(/pg_stat_statements/).first().waitFor()
    await page.getByRole('region', { name: 'Activity' }).getByText(/other sessions? on this database/).waitFor()

    await page.getByRole('button', { name: 'Optimize now…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Optimize the database now?' })
    await dialog.waitFor()
    await shot('database-confirm')
    await dialog.getByRole('button', { name: 'Optimize now' }).click()

    const run = page.getByTestId('optimize-run')
    await run.getByText('success').waitFor()
    await run.getByTestId('optimize-totals').waitFor()
    // The figures on screen are the ones the server stored with the run.
    const { runs } = (await t.app.inject({ method: 'GET', url: '/api/jobs/vacuum-analyze/runs?limit=1', headers: t.auth() })).json()
    const report = runs[0].output
    expect(runs[0].params).toEqual({ repairInvalidIndexes: true })
    expect(count(await run.getByTestId('dead-before').textContent())).toBe(report.deadTuplesBefore)
    expect(count(await run.getByTestId('dead-after').textContent())).toBe(report.deadTuplesAfter)
    const worked = report.vacuumed.length + report.analyzed.length
    if (worked > 0) expect(await run.getByTestId('optimize-tables').locator('tbody tr').count()).toBe(worked)
    expect(report.indexes).toBeDefined()
    await page.getByRole('status').filter({ hasText: 'Optimize finished in' }).waitFor()
    await shot('database')
  })

  it('lets a viewer see the Jobs and Database pages but not act, and says why', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('API token').waitFor()
    await signIn(page, baseUrl, viewerToken)

    await goTo(page, 'Jobs')
    const row = page.locator('tr[data-job="retention"]')
    await row.waitFor()
    for (const name of ['Run now', 'Pause', 'Edit the schedule of retention']) {
      const button = row.getByRole('button', { name })
      expect(await button.isDisabled()).toBe(true)
      expect(await button.getAttribute('aria-describedby')).toBe('viewer-reason')
    }
    expect(await page.locator('#viewer-reason').textContent()).toContain('actions need an admin token')
    // History stays open to viewers.
    expect(await row.getByRole('button', { name: 'Runs of retention' }).isEnabled()).toBe(true)
    await shot('jobs-viewer')

    await goTo(page, 'Database')
    const optimize = page.getByRole('button', { name: 'Optimize now…' })
    expect(await optimize.isDisabled()).toBe(true)
    await page.getByText('viewer role: actions need an admin token').first().waitFor()
    await shot('database-viewer')

    // The server refuses too: the disabled buttons are not the only guard.
    for (const url of ['/api/jobs/retention/run', '/api/jobs/retention/pause', '/api/db/optimize']) {
      const res = await t.app.inject({ method: 'POST', url, headers: t.auth(viewerToken), payload: {} })
      expect(res.statusCode).toBe(403)
    }
  })

  it('ran every page without a console error or a CSP violation', () => {
    expect(browser.errors.filter((e) => !e.includes('status of 401'))).toEqual([])
  })
})
