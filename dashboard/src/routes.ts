import type { PageRoute } from './lib/router.svelte.js'
import Overview from './features/overview/Overview.svelte'

/**
 * The pages, in navigation order. Overview is the landing page and ships in the first
 * bundle; every other page is its own chunk, loaded when first visited. A new page is one
 * folder under features/ and one line here.
 */
export const routes: readonly PageRoute[] = [
  { path: '/', title: 'Overview', load: async () => ({ default: Overview }) },
  { path: '/alerts', title: 'Alerts', load: () => import('./features/alerts/Alerts.svelte') },
  { path: '/jobs', title: 'Jobs', load: () => import('./features/jobs/Jobs.svelte') },
  { path: '/database', title: 'Database', load: () => import('./features/database/Database.svelte') },
  { path: '/cache', title: 'Cache', load: () => import('./features/cache/Cache.svelte') },
  { path: '/chat', title: 'Chat', load: () => import('./features/chat/Chat.svelte') },
  { path: '/tokens', title: 'Tokens', load: () => import('./features/tokens/Tokens.svelte') },
  { path: '/usage', title: 'Usage', load: () => import('./features/usage/Usage.svelte') },
  { path: '/audit', title: 'Audit log', load: () => import('./features/audit/Audit.svelte') },
]
