/**
 * The browser's clock as state, for "in 12 s" / "3 min ago" texts that must move on their
 * own. Pages start it in an $effect: `$effect(() => clock.start())`.
 */
export class Clock {
  now = $state(Date.now())

  start(intervalMs = 1_000): () => void {
    this.now = Date.now()
    const timer = setInterval(() => (this.now = Date.now()), intervalMs)
    return () => clearInterval(timer)
  }
}
