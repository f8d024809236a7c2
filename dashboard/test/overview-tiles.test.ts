import { render, screen, waitFor } from '@testing-library/svelte'
import { describe, expect, it } from 'vitest'
import CacheRatioTile from '../src/features/overview/CacheRatioTile.svelte'
import { highestSeverity } from '../src/features/alerts/alerts.svelte.js'
import { dashboardContext } from '../src/lib/dashboard.js'
import { fakeDashboard, ok } from './fake-dashboard.js'

const lowCacheRule = { signal: 'cache_hit_ratio', op: '<', threshold: 0.2, severity: 'warning' }

describe('the Overview tiles say what is true', () => {
  it('Firing alerts takes the highest firing severity, not "critical" whenever anything fires', async () => {
    expect(highestSeverity([])).toBe('ok')
    expect(highestSeverity([{ severity: 'warning' }, { severity: 'info' }])).toBe('warning')
    expect(highestSeverity([{ severity: 'warning' }, { severity: 'critical' }])).toBe('critical')
    expect(highestSeverity([{ severity: 'info' }])).toBe('info')

    const fake = fakeDashboard('viewer', {
      'GET /api/alerts': ok({ alerts: [{ state: 'firing', severity: 'warning' }] }),
      'GET /api/alerts/rules': ok({ rules: [] }),
    })
    await fake.dashboard.alerts.refresh()
    expect(fake.dashboard.alerts.firing).toBe(1)
    expect(fake.dashboard.alerts.firingLevel).toBe('warning')
    fake.close()
  })

  it('Cache hit ratio shows the chat answers and names the worst namespace below, coloured by the chat ratio', async () => {
    const fake = fakeDashboard('viewer', {
      'GET /api/alerts': ok({ alerts: [] }),
      'GET /api/alerts/rules': ok({ rules: [lowCacheRule] }),
    })
    await fake.dashboard.alerts.refresh()
    fake.dashboard.signals.append({
      at: Date.now(),
      instance: 'test-1',
      signals: [
        { name: 'cache_hit_ratio', labels: { cache_type: 'ai_response' }, value: 0.74 },
        { name: 'cache_hit_ratio', labels: { cache_type: 'models' }, value: 0 },
        { name: 'cache_hit_ratio', labels: { cache_type: 'session' }, value: 0.5 },
      ],
    })
    render(CacheRatioTile, { context: dashboardContext(fake.dashboard) })
    const tile = screen.getByRole('group', { name: 'Cache hit ratio' })
    await waitFor(() => expect(tile).toHaveTextContent('74'))
    expect(tile).toHaveTextContent('lowest: models 0')
    // The models namespace is under the rule's threshold, the chat answers are not: no warning.
    expect(tile).toHaveClass('level-ok')
    expect(tile).not.toHaveTextContent('warning')
    fake.close()
  })
})
