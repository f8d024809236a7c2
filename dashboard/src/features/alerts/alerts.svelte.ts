import { ApiError, type Api } from '../../lib/api.js'
import type { Level, ThresholdRule } from '../../lib/thresholds.js'

const SEVERITY_ORDER = ['info', 'warning', 'critical'] as const

/** The highest severity among firing alerts ('ok' when none fire): what the Overview tile shows. */
export function highestSeverity(alerts: ReadonlyArray<{ severity: string }>): Level {
  let highest = -1
  for (const a of alerts)
    highest = Math.max(highest, SEVERITY_ORDER.indexOf(a.severity as (typeof SEVERITY_ORDER)[number]))
  // A severity we do not know (a custom rule's) still fires: it counts as a warning.
  if (highest === -1) return alerts.length ? 'warning' : 'ok'
  return SEVERITY_ORDER[highest]!
}

/**
 * What the shell needs from alerting: how many alerts fire (the nav badge, the Overview tile)
 * and the rules (tile colours). `available` is false when the server has no alerting API.
 */
export class AlertsStore {
  available = $state<boolean | null>(null)
  firing = $state<number | null>(null)
  /** The highest severity among the firing alerts; 'ok' when none fire. */
  firingLevel = $state<Level>('ok')
  rules = $state.raw<ThresholdRule[]>([])
  private refreshTimer: ReturnType<typeof setTimeout> | undefined

  constructor(private readonly api: Api) {}

  async refresh(): Promise<void> {
    try {
      const [{ alerts }, { rules }] = await Promise.all([
        this.api.get<{ alerts: Array<{ state: string; severity: string }> }>('/api/alerts?state=firing'),
        this.api.get<{ rules: ThresholdRule[] }>('/api/alerts/rules'),
      ])
      this.available = true
      this.firing = alerts.length
      this.firingLevel = highestSeverity(alerts)
      this.rules = rules
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) this.available = false
      // Other failures keep the last known figures; the live indicator shows connectivity.
    }
  }

  /** Coalesces a burst of alert events into one refresh. */
  refreshSoon(delayMs = 200): void {
    clearTimeout(this.refreshTimer)
    this.refreshTimer = setTimeout(() => void this.refresh(), delayMs)
  }
}
