import { getContext, setContext } from 'svelte'
import { AlertsStore } from '../features/alerts/alerts.svelte.js'
import { ApiError, createApi, type Api } from './api.js'
import { LiveConnection } from './live.svelte.js'
import { Router, type PageRoute } from './router.svelte.js'
import { Session } from './session.svelte.js'
import { SignalStore } from './signals.svelte.js'
import { Theme } from './theme.svelte.js'
import { Toasts } from './toasts.svelte.js'

/** Everything a page needs, created once per app and handed down through Svelte context. */
export interface Dashboard {
  api: Api
  session: Session
  live: LiveConnection
  signals: SignalStore
  alerts: AlertsStore
  toasts: Toasts
  router: Router
  theme: Theme
}

const KEY = Symbol('dashboard')

export function createDashboard(
  routes: readonly PageRoute[],
  options: { fetch?: typeof fetch; location?: Location } = {},
): Dashboard {
  const location = options.location ?? window.location
  const sessionRef: { current?: Session } = {}
  const api = createApi({ fetch: options.fetch, onUnauthorized: () => sessionRef.current?.expired() })
  const session = new Session(api)
  sessionRef.current = session
  const live = new LiveConnection({
    url: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/live`,
    onAuthLost: () => session.expired(),
    checkSession: async () => {
      try {
        await api.get('/api/auth/me')
        return true
      } catch (err) {
        return !(err instanceof ApiError && err.status === 401)
      }
    },
  })
  const signals = new SignalStore()
  const alerts = new AlertsStore(api)
  live.on('history', (m) => signals.loadHistory(m.data))
  live.on('snapshot', (m) => signals.append(m.data))
  live.on('alert', () => alerts.refreshSoon())
  live.on('audit', (m) => {
    if (m.data.action.startsWith('alert_rule.')) alerts.refreshSoon()
  })
  return { api, session, live, signals, alerts, toasts: new Toasts(), router: new Router(routes), theme: new Theme() }
}

export function dashboardContext(dashboard: Dashboard): Map<symbol, Dashboard> {
  return new Map([[KEY, dashboard]])
}

export function provideDashboard(dashboard: Dashboard): void {
  setContext(KEY, dashboard)
}

/** The dashboard of the component tree (inside a component's initialisation only). */
export function useDashboard(): Dashboard {
  const dashboard = getContext<Dashboard | undefined>(KEY)
  if (!dashboard) throw new Error('useDashboard() outside the dashboard: mount with dashboardContext(...)')
  return dashboard
}
