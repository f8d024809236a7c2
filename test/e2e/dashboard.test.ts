import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { VERSION } from '../../server/version.js'
import { backends } from '../helpers/app.js'
import { signIn, useDashboard } from '../helpers/browser.js'

/** The number a tile shows (its text without the unit), or null for "—". */
async function tileNumber(page: Page, label: string): Promise<number | null> {
  const text =
    (await page.getByRole('group', { name: label, exact: true }).getByTestId('tile-value').textContent()) ?? ''
  const match = /^-?[\d,.]+/.exec(text.trim())
  return match ? Number(match[0].replace(/,/g, '')) : null
}

/** Waits (up to the test's timeout) until `check` holds for the number a tile shows. */
async function waitForTile(page: Page, label: string, check: (n: number) => boolean): Promise<number> {
  for (;;) {
    const n = await tileNumber(page, label)
    if (n !== null && check(n)) return n
    await page.waitForTimeout(250)
  }
}

async function goTo(page: Page, title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: title }).click()
  await page.getByRole('heading', { level: 1, name: title }).waitFor()
}

describe.each(backends)('dashboard in Chromium ($name)', (backend) => {
  const ui = useDashboard(backend, {
    env: {
      INSTANCE_ID: `e2e-${backend.name.replace(/\W/g, '-')}`,
      SIM_FIRST_TOKEN_MS: '20',
      SIM_TOKENS_PER_SECOND: '2000',
    },
    viewerName: 'e2e viewer',
  })
  const { t, shot } = ui

  it('refuses a wrong token on the sign-in page, then signs in and goes live', async () => {
    await ui.page.goto(`${t.baseUrl}/`)
    await ui.page.getByLabel('API token').fill('ccp_this-is-not-a-token-of-this-server-000000000')
    await ui.page.getByRole('button', { name: 'Sign in' }).click()
    await expect(ui.page.getByRole('alert').textContent()).resolves.toContain('Unknown or revoked token')
    await shot('sign-in')

    await signIn(ui.page, t.baseUrl, t.adminToken)
    await ui.page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
    await ui.page.getByTestId('live-status').filter({ hasText: 'Live' }).waitFor()
    expect(await ui.page.getByTestId('instance-name').textContent()).toBe(t.config.instanceId)
  })

  it('lists the running instance on the Overview with its version, as leader and as this instance', async () => {
    const row = ui.page.getByTestId('instances-table').locator(`tr[data-instance="${t.config.instanceId}"]`)
    // With Redis the lease is won just after start; the panel polls, so wait for the badge.
    await row.getByText('leader', { exact: true }).waitFor()
    expect(await row.getByText('this instance', { exact: true }).count()).toBe(1)
    expect((await row.locator('td').nth(1).textContent())?.trim()).toBe(VERSION)
  })

  it('shows the request rate rise on the Overview as traffic flows, without reloading', async () => {
    const before = (await tileNumber(ui.page, 'Requests')) ?? 0
    // Mark a chart's canvas: if charts were re-created per tick, the mark would be gone.
    await ui.page
      .locator('.uplot canvas')
      .first()
      .evaluate((canvas) => canvas.setAttribute('data-mark', 'first'))
    // 120 requests within the 60 s window: at least 2 req/s more than before.
    for (let i = 0; i < 120; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/health/live' })
      expect(res.statusCode).toBe(200)
    }
    const after = await waitForTile(ui.page, 'Requests', (n) => n >= before + 1.9)
    expect(after).toBeGreaterThan(before)
    expect(await ui.page.locator('.uplot canvas[data-mark="first"]').count()).toBe(1)
    // Every chart has data (uPlot draws on a canvas; the placeholder is gone).
    expect(await ui.page.locator('.uplot').count()).toBe(4)
    expect(await ui.page.getByText('Waiting for the first samples').count()).toBe(0)
    await shot('overview')
  })

  it('switches the chart range and the theme', async () => {
    await ui.page.getByRole('radio', { name: '5 min', exact: true }).click()
    expect(await ui.page.getByRole('radio', { name: '5 min', exact: true }).getAttribute('aria-checked')).toBe('true')
    await ui.page.getByRole('button', { name: 'Switch to light theme' }).click()
    expect(await ui.page.locator('html').getAttribute('data-theme')).toBe('light')
    await shot('overview-light')
    await ui.page.getByRole('button', { name: 'Switch to dark theme' }).click()
    await ui.page.setViewportSize({ width: 820, height: 1100 })
    await shot('overview-tablet')
    await ui.page.setViewportSize({ width: 1280, height: 860 })
  })

  it('shows chat traffic and the provider on the Chat page', async () => {
    for (const question of ['What is a cache?', 'What is a queue?', 'What is a cache?']) {
      const res = await t.request('POST', '/v1/chat/completions', {
        model: 'simulated',
        messages: [{ role: 'user', content: question }],
      })
      expect(res.statusCode).toBe(200)
    }
    await goTo(ui.page, 'Chat')
    await waitForTile(ui.page, 'Chat requests', (n) => n > 0)
    await ui.page.getByRole('region', { name: 'Provider health' }).getByText('Up').waitFor()
    await shot('chat')
  })

  it('clears the cache after a confirmation and shows how many entries it removed', async () => {
    await goTo(ui.page, 'Cache')
    await ui.page.getByTestId('namespaces-table').waitFor()
    await ui.page.getByLabel('Namespace').selectOption('ai_response')
    await ui.page.getByRole('button', { name: 'Clear cache…' }).click()
    const dialog = ui.page.getByRole('dialog', { name: 'Clear the ai_response cache?' })
    await dialog.waitFor()
    await shot('cache-confirm')
    await dialog.getByRole('button', { name: 'Clear cache' }).click()

    const result = ui.page.getByTestId('clear-result')
    await result.waitFor()
    const shown = Number(/Removed ([\d,]+) entr/.exec((await result.textContent()) ?? '')![1]!.replace(/,/g, ''))
    // The count on screen is the one the server recorded in the audit log.
    const audit = await t.request('GET', '/api/audit?action=cache.clear&limit=1')
    const { deleted } = audit.json().entries[0].detail
    expect(shown).toBe(deleted.l1 + deleted.l2)
    expect(shown).toBeGreaterThan(0)
    await ui.page.getByRole('status').filter({ hasText: 'Removed' }).first().waitFor()
    await shot('cache')
  })

  it('lists admin actions in the Audit log and adds new ones as they happen', async () => {
    await goTo(ui.page, 'Audit log')
    const table = ui.page.getByTestId('audit-table')
    await table.getByText('cache.clear').first().waitFor()
    const created = await t.request('POST', '/api/tokens', { name: 'appears live', role: 'viewer' })
    expect(created.statusCode).toBe(201)
    await table.getByText(created.json().token.id).waitFor()
    await shot('audit')
  })

  it('counts a newly firing alert in the header badge and the Overview tile, without reloading', async () => {
    await goTo(ui.page, 'Overview')
    const badge = ui.page.getByTestId('firing-badge')
    await badge.filter({ hasText: /^0 firing$/ }).waitFor()
    const rule = {
      name: 'E2eMemoryInUse',
      signal: 'system_memory_usage_ratio',
      op: '>',
      threshold: 0,
      severity: 'critical',
      annotations: { summary: 'e2e' },
    }
    const created = await t.request('POST', '/api/alerts/rules', rule)
    expect(created.statusCode).toBe(201)
    await badge.filter({ hasText: /^1 firing$/ }).waitFor()
    await waitForTile(ui.page, 'Firing alerts', (n) => n === 1)
    await shot('overview-alert-firing')
  })

  it('lets a viewer see everything but not act, and says why', async () => {
    const adminSession = (await ui.browser.context.cookies()).find((c) => c.name === 'ccp_session')!
    await ui.page.getByRole('button', { name: 'Sign out' }).click()
    await ui.page.getByLabel('API token').waitFor()
    // Signing out ended the session on the server: a copy of the old cookie signs nobody in.
    const oldCookie = { cookie: `ccp_session=${adminSession.value}` }
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: oldCookie })).statusCode).toBe(401)
    await signIn(ui.page, t.baseUrl, ui.viewerToken)
    await goTo(ui.page, 'Cache')
    const clear = ui.page.getByRole('button', { name: 'Clear cache…' })
    expect(await clear.isDisabled()).toBe(true)
    expect(await ui.page.getByText('actions need an admin token').textContent()).toContain('viewer role')
    // The server refuses too: the button is not the only guard.
    const res = await t.request('POST', '/api/cache/clear', {}, { token: ui.viewerToken })
    expect(res.statusCode).toBe(403)
    await shot('cache-viewer')
    await goTo(ui.page, 'Overview')
    await ui.page.getByTestId('live-status').filter({ hasText: 'Live' }).waitFor()
  })

  it('ran every page without a console error or a CSP violation', () => {
    // 401s are expected: the page asks who is signed in before anyone is, and the wrong token.
    expect(ui.browser.errors.filter((e) => !e.includes('status of 401'))).toEqual([])
  })
})
