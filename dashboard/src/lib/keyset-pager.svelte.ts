import { errorText } from './errors.js'

export interface KeysetPage<T> {
  items: T[]
  nextBefore: string | null
}

export interface KeysetPagerOptions<T> {
  /** Reads one page (the dashboard's `api.get`). */
  get: (url: string) => Promise<unknown>
  /** The page's address: the query carries `limit`, `before` (older pages) and the caller's filters. */
  url: (query: URLSearchParams) => string
  /** The field of the answer that holds the items ("events", "runs"); `nextBefore` is beside it. */
  field: string
  limit: number
  /** The filters of the next load, read at each load. */
  filters?: () => Record<string, string>
  key: (item: T) => string
  /** True when `a` is older than `b` (it sorts below it). */
  isOlder: (a: T, b: T) => boolean
  /**
   * How a reload treats the rows already shown: 'merge' (default) puts the newest page on top
   * and keeps the older pages already loaded; 'replace' shows the first page alone.
   */
  reload?: 'merge' | 'replace'
}

/**
 * A list read newest first, a page at a time (`?before=<nextBefore>`), the way the audit log,
 * the alert history, the notification log and the job runs are served. A load that a newer
 * one overtook is dropped.
 */
export class KeysetPager<T> {
  items = $state.raw<T[]>([])
  nextBefore = $state<string | null>(null)
  loading = $state(true)
  error = $state<string | null>(null)
  private generation = 0

  constructor(private readonly options: KeysetPagerOptions<T>) {}

  /** The key of an item (its row in a table). */
  get key(): (item: T) => string {
    return this.options.key
  }

  /** `append`: the next older page; else the newest page again. */
  async load(append: boolean): Promise<void> {
    const { get, url, field, limit, filters, key, isOlder, reload = 'merge' } = this.options
    const mine = ++this.generation
    this.loading = true
    this.error = null
    const query = new URLSearchParams({ limit: String(limit) })
    for (const [name, value] of Object.entries(filters?.() ?? {})) if (value) query.set(name, value)
    if (append && this.nextBefore) query.set('before', this.nextBefore)
    try {
      const answer = (await get(url(query))) as Record<string, unknown> & { nextBefore: string | null }
      if (mine !== this.generation) return
      const page: KeysetPage<T> = { items: answer[field] as T[], nextBefore: answer.nextBefore }
      if (append) {
        const shown = new Set(this.items.map(key))
        this.items = [...this.items, ...page.items.filter((item) => !shown.has(key(item)))]
        this.nextBefore = page.nextBefore
      } else {
        const ids = new Set(page.items.map(key))
        const oldest = page.items.at(-1)
        const older =
          reload === 'merge' && oldest ? this.items.filter((item) => !ids.has(key(item)) && isOlder(item, oldest)) : []
        this.items = [...page.items, ...older]
        if (!older.length) this.nextBefore = page.nextBefore
      }
    } catch (err) {
      if (mine === this.generation) this.error = errorText(err)
    } finally {
      if (mine === this.generation) this.loading = false
    }
  }

  /** Forgets the rows shown (a new filter) and loads the newest page. */
  restart(): Promise<void> {
    this.items = []
    this.nextBefore = null
    return this.load(false)
  }
}

/** Keyset ids are bigint strings: compare them as numbers. */
export const olderById = <T extends { id: string }>(a: T, b: T) => BigInt(a.id) < BigInt(b.id)
