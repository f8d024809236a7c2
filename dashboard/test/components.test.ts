import { fireEvent, render, screen } from '@testing-library/svelte'
import { describe, expect, it } from 'vitest'
import ActionButton from '../src/components/ActionButton.svelte'
import ConfirmDialog from '../src/components/ConfirmDialog.svelte'
import Tile from '../src/components/Tile.svelte'
import Toasts from '../src/components/Toasts.svelte'
import { createDashboard, dashboardContext, type Dashboard } from '../src/lib/dashboard.js'
import { textSnippet } from './snippets.js'

function dashboardAs(role: 'admin' | 'viewer' | null): Dashboard {
  const dashboard = createDashboard([])
  dashboard.session.principal = role ? { tokenId: 't', name: `${role} person`, role, via: 'session' } : null
  dashboard.session.status = role ? 'signed-in' : 'signed-out'
  return dashboard
}

describe('Tile', () => {
  it('shows the value with its unit and the level from the alert rules', () => {
    render(Tile, { props: { label: 'CPU', value: 0.912, unit: 'ratio', level: 'warning' } })
    const tile = screen.getByRole('group', { name: 'CPU' })
    expect(tile).toHaveTextContent('91.2%')
    expect(tile).toHaveTextContent('warning')
    expect(tile).toHaveClass('level-warning')
  })

  it('says there is no data rather than showing a zero', () => {
    render(Tile, { props: { label: 'Cache hit ratio', value: null, unit: 'ratio' } })
    const tile = screen.getByRole('group', { name: 'Cache hit ratio' })
    expect(screen.getByTestId('tile-value')).toHaveTextContent('—')
    expect(tile).toHaveTextContent('no data yet')
    expect(tile).not.toHaveTextContent('0')
  })
})

describe('ActionButton', () => {
  it('lets an admin act', async () => {
    let clicks = 0
    render(ActionButton, {
      props: { onclick: () => clicks++, children: textSnippet('Clear cache…') },
      context: dashboardContext(dashboardAs('admin')),
    })
    const button = screen.getByRole('button', { name: 'Clear cache…' })
    expect(button).toBeEnabled()
    await fireEvent.click(button)
    expect(clicks).toBe(1)
  })

  it('is disabled for a viewer and says why', () => {
    render(ActionButton, {
      props: { onclick: () => {}, children: textSnippet('Clear cache…') },
      context: dashboardContext(dashboardAs('viewer')),
    })
    const button = screen.getByRole('button', { name: 'Clear cache…' })
    expect(button).toBeDisabled()
    expect(button).toHaveAccessibleDescription('Your token has the viewer role: actions need an admin token')
    expect(screen.getByText('Your token has the viewer role: actions need an admin token')).toBeVisible()
  })
})

describe('ConfirmDialog', () => {
  const props = (events: string[], busy = false) => ({
    open: true,
    title: 'Clear every cache namespace?',
    confirmLabel: 'Clear cache',
    danger: true,
    busy,
    onconfirm: () => events.push('confirm'),
    oncancel: () => events.push('cancel'),
    children: textSnippet('Requests will be slower for a while.'),
  })

  it('is a labelled modal dialog that starts on Cancel and confirms on demand', async () => {
    const events: string[] = []
    render(ConfirmDialog, { props: props(events) })
    const dialog = screen.getByRole('dialog', { name: 'Clear every cache namespace?' })
    expect(dialog).toHaveAttribute('aria-modal', 'true')
    expect(dialog).toHaveTextContent('Requests will be slower for a while.')
    expect(screen.getByRole('button', { name: 'Cancel' })).toHaveFocus()
    await fireEvent.click(screen.getByRole('button', { name: 'Clear cache' }))
    expect(events).toEqual(['confirm'])
  })

  it('cancels on Escape, but not while the action runs', async () => {
    const events: string[] = []
    const { unmount } = render(ConfirmDialog, { props: props(events) })
    await fireEvent.keyDown(screen.getByRole('dialog'), { key: 'Escape' })
    expect(events).toEqual(['cancel'])
    unmount()

    const busyEvents: string[] = []
    render(ConfirmDialog, { props: props(busyEvents, true) })
    await fireEvent.keyDown(screen.getByRole('dialog'), { key: 'Escape' })
    expect(busyEvents).toEqual([])
    expect(screen.getByRole('button', { name: 'Working…' })).toBeDisabled()
  })

  it('keeps Tab inside the dialog', async () => {
    render(ConfirmDialog, { props: props([]) })
    const confirm = screen.getByRole('button', { name: 'Clear cache' })
    confirm.focus()
    await fireEvent.keyDown(screen.getByRole('dialog'), { key: 'Tab' })
    expect(screen.getByRole('button', { name: 'Cancel' })).toHaveFocus()
  })
})

describe('Toasts', () => {
  it('announces results and lets errors be dismissed', async () => {
    const dashboard = dashboardAs('admin')
    render(Toasts, { context: dashboardContext(dashboard) })
    dashboard.toasts.success('Removed 3 entries')
    dashboard.toasts.error('Clearing the cache failed')
    expect(await screen.findByRole('status')).toHaveTextContent('Removed 3 entries')
    expect(screen.getByRole('alert')).toHaveTextContent('Clearing the cache failed')
    const dismissButtons = screen.getAllByRole('button', { name: 'Dismiss' })
    await fireEvent.click(dismissButtons[1]!)
    expect(screen.queryByRole('alert')).toBeNull()
  })
})
