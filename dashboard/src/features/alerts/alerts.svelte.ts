import { ApiError, type Api } from '../../lib/api.js'
import type { ThresholdRule } from '../../lib/thresholds.js'

/**
 * What the shell needs from alerting: how many alerts fire (the nav badge, the Overview tile)
 * and the rules (tile colours). `available` is false when the server has no alerting API.
 */
export class AlertsStore {
  available = $state<boolean | null>(null)
  firing = $state<number | null>(null)
  rules = $state.raw<ThresholdRule[]>([])
  private refreshTimer: ReturnType<typeof setTimeout> | undefined

  constructor(private readonly api: Api) {}

  async refresh(): Promise<void> {
    try {
      const [{ alerts }, { rules }] = await Promise.all([
        this.api.get<{ alerts: Array<{ state: string }> }>('/api/alerts?state=firing'),
        this.api.get<{ rules: ThresholdRule[] }>('/api/alerts/rules'),
      ])
      this.available = true
      this.firing = alerts.length
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
