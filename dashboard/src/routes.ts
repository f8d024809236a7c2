import type { PageRoute } from './lib/router.svelte.js'
import Overview from './pages/Overview.svelte'

/**
 * The pages, in navigation order. Overview is the landing page and ships in the first
 * bundle; every other page is its own chunk, loaded when first visited. A new page is one
 * file under pages/ and one line here.
 */
export const routes: readonly PageRoute[] = [
  { path: '/', title: 'Overview', load: async () => ({ default: Overview }) },
  { path: '/alerts', title: 'Alerts', load: () => import('./pages/Alerts.svelte') },
  { path: '/jobs', title: 'Jobs', load: () => import('./pages/Jobs.svelte') },
  { path: '/database', title: 'Database', load: () => import('./pages/Database.svelte') },
  { path: '/cache', title: 'Cache', load: () => import('./pages/Cache.svelte') },
  { path: '/chat', title: 'Chat', load: () => import('./pages/Chat.svelte') },
  { path: '/audit', title: 'Audit log', load: () => import('./pages/Audit.svelte') },
]
