/**
 * One API read with its loading and error states, for pages: `data` keeps the last good
 * answer while a refresh runs or fails, so the page does not flicker back to "loading".
 */
export class Resource<T> {
  data = $state.raw<T | null>(null)
  error = $state<string | null>(null)
  loading = $state(false)
  /** Epoch ms of the last successful load. */
  loadedAt = $state<number | null>(null)
  private generation = 0

  constructor(private readonly fetcher: () => Promise<T>) {}

  async refresh(): Promise<void> {
    const generation = ++this.generation
    this.loading = true
    try {
      const data = await this.fetcher()
      if (generation !== this.generation) return
      this.data = data
      this.error = null
      this.loadedAt = Date.now()
    } catch (err) {
      if (generation !== this.generation) return
      this.error = err instanceof Error ? err.message : String(err)
    } finally {
      if (generation === this.generation) this.loading = false
    }
  }

  /** Refreshes now and every `intervalMs`; returns the stop function (for $effect cleanup). */
  poll(intervalMs: number): () => void {
    void this.refresh()
    const timer = setInterval(() => void this.refresh(), intervalMs)
    return () => clearInterval(timer)
  }
}
