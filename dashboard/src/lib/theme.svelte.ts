export type ThemeName = 'dark' | 'light'

const STORAGE_KEY = 'ccp-theme'

/** Dark by default; the choice is remembered in localStorage and set on <html data-theme>. */
export class Theme {
  name = $state<ThemeName>('dark')

  constructor(
    private readonly root: HTMLElement = document.documentElement,
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'> | null = safeStorage(),
  ) {
    this.name = storage?.getItem(STORAGE_KEY) === 'light' ? 'light' : 'dark'
    this.apply()
  }

  toggle(): void {
    this.name = this.name === 'dark' ? 'light' : 'dark'
    this.storage?.setItem(STORAGE_KEY, this.name)
    this.apply()
  }

  private apply(): void {
    this.root.dataset.theme = this.name
  }
}

function safeStorage(): Storage | null {
  try {
    return window.localStorage
  } catch {
    return null
  }
}
