import type { Component } from 'svelte'

export interface PageRoute {
  path: string
  title: string
  /** Loads the page component; pages other than the first are split into their own chunk. */
  load: () => Promise<{ default: Component }>
}

/**
 * A small client-side router over the History API: the current path as state, in-app links
 * without reloads, back/forward. The server answers every page path with index.html.
 */
export class Router {
  path = $state('/')

  constructor(
    readonly routes: readonly PageRoute[],
    private readonly history: Pick<History, 'pushState'> = window.history,
    initialPath: string = window.location.pathname,
  ) {
    this.path = normalize(initialPath)
  }

  get current(): PageRoute | null {
    return this.routes.find((r) => r.path === this.path) ?? null
  }

  navigate(path: string): void {
    const next = normalize(path)
    if (next === this.path) return
    this.history.pushState({}, '', next)
    this.path = next
  }

  /** Follows back/forward; returns the unsubscribe. */
  listen(target: Pick<Window, 'addEventListener' | 'removeEventListener' | 'location'> = window): () => void {
    const onPop = () => {
      this.path = normalize(target.location.pathname)
    }
    target.addEventListener('popstate', onPop)
    return () => target.removeEventListener('popstate', onPop)
  }

  /** For `<a onclick>`: plain left clicks navigate in-app; modified clicks open a tab as usual. */
  linkHandler(path: string): (event: MouseEvent) => void {
    return (event) => {
      if (
        event.defaultPrevented ||
        event.button !== 0 ||
        event.metaKey ||
        event.ctrlKey ||
        event.shiftKey ||
        event.altKey
      )
        return
      event.preventDefault()
      this.navigate(path)
    }
  }
}

function normalize(path: string): string {
  const trimmed = path.replace(/\/+$/, '')
  return trimmed === '' ? '/' : trimmed
}
