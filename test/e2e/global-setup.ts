import { buildDashboard } from '../../dashboard/scripts/build-if-stale.mjs'

/** The browser tests load the real built dashboard: build it once, unless it is up to date. */
export default async function setup(): Promise<void> {
  await buildDashboard()
}
