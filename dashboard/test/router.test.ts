import { describe, expect, it } from 'vitest'
import { Router, type PageRoute } from '../src/lib/router.svelte.js'

const page = (path: string, title: string): PageRoute => ({
  path,
  title,
  load: async () => ({ default: (() => {}) as never }),
})
const routes = [page('/', 'Overview'), page('/cache', 'Cache')]

function recordingHistory() {
  const pushed: string[] = []
  return {
    pushed,
    history: { pushState: (_s: unknown, _t: string, url?: string | URL | null) => void pushed.push(String(url)) },
  }
}

describe('the router', () => {
  it('matches the path it starts on, trailing slash or not', () => {
    expect(new Router(routes, recordingHistory().history, '/cache/').current?.title).toBe('Cache')
    expect(new Router(routes, recordingHistory().history, '/').current?.title).toBe('Overview')
    expect(new Router(routes, recordingHistory().history, '/nowhere').current).toBeNull()
  })

  it('navigates by pushing history, once per change', () => {
    const { pushed, history } = recordingHistory()
    const router = new Router(routes, history, '/')
    router.navigate('/cache')
    router.navigate('/cache')
    expect(pushed).toEqual(['/cache'])
    expect(router.current?.title).toBe('Cache')
  })

  it('follows back and forward', () => {
    const router = new Router(routes, recordingHistory().history, '/cache')
    const stop = router.listen()
    window.history.replaceState({}, '', '/')
    window.dispatchEvent(new PopStateEvent('popstate'))
    expect(router.path).toBe('/')
    stop()
  })

  it('leaves modified clicks (new tab) to the browser', () => {
    const { pushed, history } = recordingHistory()
    const router = new Router(routes, history, '/')
    const plain = new MouseEvent('click', { button: 0, cancelable: true })
    const withCtrl = new MouseEvent('click', { button: 0, ctrlKey: true, cancelable: true })
    router.linkHandler('/cache')(withCtrl)
    expect(withCtrl.defaultPrevented).toBe(false)
    router.linkHandler('/cache')(plain)
    expect(plain.defaultPrevented).toBe(true)
    expect(pushed).toEqual(['/cache'])
  })
})
