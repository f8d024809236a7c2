import { describe, expect, it } from 'vitest'
import { backends } from '../helpers/app.js'
import { useReceivers, waitFor, type TestReceiver } from '../helpers/alerts.js'
import { useDashboard } from '../helpers/browser.js'

describe.each(backends)('maintenance windows in Chromium ($name)', (backend) => {
  const ui = useDashboard(backend, {
    env: { INSTANCE_ID: `e2e-windows-${backend.name.replace(/\W/g, '-')}` },
    viewerName: 'e2e windows viewer',
    signIn: true,
  })
  const { t } = ui
  const startReceiver = useReceivers()
  let receiver: TestReceiver

  it('creates a window in the dashboard and holds back a firing alert’s notification', async () => {
    receiver = await startReceiver()
    expect(
      (await t.request('POST', '/api/alerts/receivers', { name: 'e2e-ops', url: `${receiver.url}/hook` })).statusCode,
    ).toBe(201)

    await ui.page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Alerts', exact: true }).click()
    await ui.page.getByRole('tab', { name: /^Maintenance windows/ }).click()
    await ui.page.getByRole('button', { name: 'New window…' }).click()
    const dialog = ui.page.getByRole('dialog', { name: 'New maintenance window' })
    await dialog.getByLabel('Name', { exact: true }).fill('e2e deploy')
    await dialog.getByLabel('Label name 1').fill('alertname')
    await dialog.getByLabel('Value 1').fill('E2eWindowed')
    await dialog.getByLabel('Reason').fill('release in progress')
    await dialog.getByRole('button', { name: 'Create window' }).click()
    const table = ui.page.getByTestId('maintenance-windows')
    await table.getByText('e2e deploy').waitFor()
    await table.getByText('Active now').waitFor()
    const [window] = (await t.request('GET', '/api/maintenance-windows')).json().windows
    expect(window).toMatchObject({ name: 'e2e deploy', activeNow: true, comment: 'release in progress' })

    // Memory in use is always above 0: the rule fires at once, and the window holds its notification back.
    const rule = { name: 'E2eWindowed', signal: 'system_memory_usage_ratio', op: '>', threshold: 0, severity: 'info' }
    expect((await t.request('POST', '/api/alerts/rules', rule)).statusCode).toBe(201)
    const suppressed = await waitFor('the suppressed notification', async () => {
      const rows = (await t.request('GET', '/api/alerts/notifications?status=suppressed')).json().notifications
      return rows.find((n: { alerts: Array<{ alertname: string }> }) => n.alerts[0]?.alertname === 'E2eWindowed')
    })
    expect(suppressed).toMatchObject({ windowId: window.id, receiver: 'e2e-ops', status: 'suppressed' })
    await ui.page.getByRole('tab', { name: /^Active/ }).click()
    await ui.page.locator('tr[data-alert="E2eWindowed"]').getByText('firing', { exact: true }).waitFor()
    expect(receiver.requests.filter((r) => JSON.stringify(r.json ?? {}).includes('E2eWindowed'))).toHaveLength(0)
  })
})
