import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { backends } from '../helpers/app.js'
import { signIn, useDashboard } from '../helpers/browser.js'

/** The Tokens and Usage pages: what they show is compared with what the API answered. */

async function goTo(page: Page, title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: title, exact: true }).click()
  await page.getByRole('heading', { level: 1, name: title }).waitFor()
}

const n = (v: number) => v.toLocaleString('en-US')

describe.each(backends)('Tokens and Usage pages in Chromium ($name)', (backend) => {
  const ui = useDashboard(backend, { env: {}, viewerName: 'e2e tokens viewer', signIn: true })
  const { t, shot } = ui

  it('creates a token with a budget and limits, shows its secret once, counts its usage, edits and revokes it', async () => {
    const page = ui.page
    await ui.browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.baseUrl })
    await goTo(page, 'Tokens')
    await page.getByLabel('Name').fill('e2e budget app')
    await page.getByLabel('Project').fill('e2e-proj')
    await page.getByLabel('Requests a minute').fill('50')
    await page.getByLabel('Budget: tokens').fill('100000')
    await page.getByLabel('Budget per').selectOption('day')
    await page.getByRole('button', { name: 'Create token' }).click()

    const secretBox = page.getByTestId('token-secret')
    await secretBox.getByText('you will not see it again').waitFor()
    const secret = await secretBox.getByLabel("The new token's secret").inputValue()
    expect(secret).toMatch(/^ccp_/)
    await secretBox.getByRole('button', { name: 'Copy' }).click()
    await secretBox.getByText('Copied to the clipboard.').waitFor()
    expect(
      await page.evaluate(() =>
        (
          globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
        ).navigator.clipboard.readText(),
      ),
    ).toBe(secret)
    await shot('tokens-created')
    await secretBox.getByRole('button', { name: 'Done' }).click()
    expect(await page.getByTestId('token-secret').count()).toBe(0)
    expect(await page.content()).not.toContain(secret)

    let used = 0
    for (const prompt of ['e2e one', 'e2e two', 'e2e three']) {
      const res = await t.chat(prompt, {}, { token: secret })
      expect(res.statusCode, res.body).toBe(200)
      used += res.json().usage.prompt_tokens + res.json().usage.completion_tokens
    }

    await page.reload()
    const row = page.locator('tr[data-token="e2e budget app"]')
    await row.getByText('rpm 50').waitFor()
    await row.getByText(`${n(used)} / ${n(100000)} tokens`).waitFor()
    expect(await row.getByRole('meter').getAttribute('aria-valuetext')).toBe(`${n(used)} / ${n(100000)} tokens`)

    const { tokens } = (await t.request('GET', '/api/tokens')).json()
    const id = tokens.find((x: { name: string }) => x.name === 'e2e budget app').id
    const byToken = (await t.request('GET', '/api/usage?group_by=token')).json().rows
    const mine = byToken.find((r: { key: string }) => r.key === id)
    expect(mine.prompt_tokens + mine.completion_tokens).toBe(used)

    await goTo(page, 'Usage')
    const usageRow = page.getByTestId('usage-top').locator('tr', { hasText: 'e2e budget app' })
    await usageRow.waitFor()
    const cells = await usageRow.locator('td').allTextContents()
    expect(cells).toEqual([
      'e2e budget app',
      n(mine.requests),
      n(mine.cached),
      n(mine.prompt_tokens),
      n(mine.completion_tokens),
      mine.cost === null ? '—' : expect.any(String),
    ])
    expect(await page.getByTestId('usage-csv').getAttribute('href')).toContain('group_by=token')
    expect(await page.getByTestId('usage-csv').getAttribute('href')).toContain('format=csv')
    await page.getByTestId('usage-chart').locator('canvas').waitFor()
    await shot('usage')

    await goTo(page, 'Tokens')
    await row.getByRole('button', { name: 'Edit e2e budget app' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByLabel('Requests a minute').fill('0')
    await dialog.getByRole('button', { name: 'Save' }).click()
    await dialog.locator('#edit-rpm-error').waitFor()
    await dialog.getByLabel('Requests a minute').fill('7')
    await dialog.getByRole('button', { name: 'Save' }).click()
    await row.getByText('rpm 7').waitFor()
    const edited = (await t.request('GET', '/api/tokens')).json().tokens.find((x: { id: string }) => x.id === id)
    expect(edited.limits.rpm).toBe(7)

    await row.getByRole('button', { name: 'Revoke e2e budget app' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click()
    await row.getByText('revoked').waitFor()
    expect((await t.chat('after revoke', {}, { token: secret })).statusCode).toBe(401)
  })

  it('shows viewers the list without create, edit or revoke controls', async () => {
    const page = await ui.browser.context.newPage()
    try {
      await ui.browser.context.clearCookies()
      await signIn(page, t.baseUrl, ui.viewerToken)
      await goTo(page, 'Tokens')
      await page.locator('tr[data-token="e2e tokens viewer"]').waitFor()
      expect(await page.getByRole('button', { name: 'Create token' }).count()).toBe(0)
      expect(await page.getByRole('button', { name: /^(Edit|Revoke) / }).count()).toBe(0)
      await page.getByText('Read-only').waitFor()
    } finally {
      await page.close()
    }
  })
})
