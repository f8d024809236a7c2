export type CircuitState = 'closed' | 'open' | 'half_open'

export interface CircuitSettings {
  /** Consecutive retryable failures that open the circuit. */
  failures: number
  /** Error ratio over the last WINDOW outcomes (MIN_VOLUME at least) that opens it. */
  errorRatio: number
  cooldownMs: number
}

const WINDOW = 20
const MIN_VOLUME = 10

/**
 * Passive health of one upstream. Closed: requests flow. Open: none for `cooldownMs`. Then
 * half-open: exactly one request (the probe) is let through; its success closes the circuit,
 * its failure opens it again. Routing asks `available(now)` without sending anything, which is
 * why this is not a wrapper around the call (as circuit-breaker libraries are).
 */
export class Circuit {
  private consecutive = 0
  private readonly outcomes: boolean[] = []
  private openedAt = 0
  private opened = false
  private probing = false

  constructor(private readonly settings: CircuitSettings) {}

  state(now: number): CircuitState {
    if (!this.opened) return 'closed'
    return now - this.openedAt >= this.settings.cooldownMs ? 'half_open' : 'open'
  }

  /** Whether a request may go now (in half-open: only while no probe is out). */
  available(now: number): boolean {
    const state = this.state(now)
    return state === 'closed' || (state === 'half_open' && !this.probing)
  }

  /** A request goes out; in half-open it is the probe. Returns whether it was the probe. */
  admit(now: number): boolean {
    if (this.state(now) !== 'half_open') return false
    this.probing = true
    return true
  }

  success(): void {
    this.consecutive = 0
    this.record(true)
    if (this.opened) {
      this.opened = false
      this.probing = false
      this.outcomes.length = 0
    }
  }

  /** A retryable failure (connection, timeout, 429, 5xx); other failures are the request's fault. */
  failure(now: number): void {
    this.consecutive++
    this.record(false)
    const errors = this.outcomes.filter((ok) => !ok).length
    const tooMany =
      this.consecutive >= this.settings.failures ||
      (this.outcomes.length >= MIN_VOLUME && errors / this.outcomes.length >= this.settings.errorRatio)
    if (this.opened || tooMany) this.trip(now)
  }

  /** The probe ended without telling anything (the client went away). */
  release(wasProbe: boolean): void {
    if (wasProbe) this.probing = false
  }

  /** Opens the circuit now (also when an active probe failed). */
  trip(now: number): void {
    this.opened = true
    this.openedAt = now
    this.probing = false
  }

  private record(ok: boolean): void {
    this.outcomes.push(ok)
    if (this.outcomes.length > WINDOW) this.outcomes.shift()
  }
}
