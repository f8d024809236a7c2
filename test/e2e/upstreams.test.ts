import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends } from '../helpers/app.js'
import { useDashboard } from '../helpers/browser.js'
import { startFakeUpstream, type FakeUpstream } from '../integration/chat/fake-upstream.js'

/** The Chat page's Upstreams panel against two real local upstreams: a killed one shows as down, Drain works. */
describe('Upstreams panel in Chromium', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'pool-e2e-')), 'upstreams.yaml')
  const upstreams: FakeUpstream[] = []
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) upstreams.push(await startFakeUpstream())
    writeFileSync(
      file,
      [
        'upstreams:',
        `  - { name: up-a, base_url: ${upstreams[0]!.url} }`,
        `  - { name: up-b, base_url: ${upstreams[1]!.url} }`,
        'models:',
        '  - name: chat-default',
        '    deployments: [{ upstream: up-a, model: m1 }, { upstream: up-b, model: m1 }]',
      ].join('\n'),
    )
  })
  afterAll(async () => {
    for (const u of upstreams) await u.close()
  })
  const ui = useDashboard(backends[0]!, {
    env: { UPSTREAMS_FILE: file, INSTANCE_ID: 'e2e-upstreams' },
    viewerName: 'e2e upstreams viewer',
    signIn: true,
  })

  const row = (name: string) => ui.page.locator(`tr[data-upstream="${name}"]`)

  it('shows a killed upstream as down', async () => {
    await ui.page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Chat', exact: true }).click()
    await row('up-b').locator('.health', { hasText: 'up' }).waitFor()
    await upstreams[1]!.kill()
    // The health-check job probes every upstream's /models.
    expect((await ui.t.request('POST', '/api/jobs/health-check/run')).statusCode).toBe(202)
    await row('up-b').locator('.health', { hasText: 'down' }).waitFor()
    await row('up-a').locator('.health', { hasText: 'up' }).waitFor()
    await ui.shot('upstream-down')
  })

  it('drains an upstream after confirmation', async () => {
    await row('up-a').getByRole('button', { name: 'Drain up-a' }).click()
    await ui.page.getByRole('dialog').getByRole('button', { name: 'Drain', exact: true }).click()
    await row('up-a').locator('.state', { hasText: 'draining' }).waitFor()
    const { upstreams: listed } = (await ui.t.request('GET', '/api/upstreams')).json()
    expect(listed.find((u: { name: string }) => u.name === 'up-a').state).toBe('draining')
    await row('up-a').getByRole('button', { name: 'Enable up-a' }).waitFor()
  })
})
