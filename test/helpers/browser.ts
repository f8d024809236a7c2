import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll } from 'vitest'
import { useTestApp, type TestApp } from './app.js'
import type { Backend } from './store.js'

export const ARTIFACTS_DIR = fileURLToPath(new URL('../e2e/artifacts/', import.meta.url))

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export interface Browser {
  context: BrowserContext
  /** Console errors and uncaught exceptions of every page (CSP violations show up here). */
  errors: string[]
  newPage(): Promise<Page>
  close(): Promise<void>
}

/** Debian's Chromium, headless, with an empty profile of its own. */
export async function launchBrowser(): Promise<Browser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'ccp-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
  })
  const errors: string[] = []
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`)
    })
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`))
  }
  context.pages().forEach(watch)
  context.on('page', watch)
  return {
    context,
    errors,
    async newPage() {
      return context.pages()[0] ?? (await context.newPage())
    },
    async close() {
      await context.close()
      rmSync(userDataDir, { recursive: true, force: true })
    },
  }
}

/** Saves a full-page screenshot as test/e2e/artifacts/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`), fullPage: true })
}

/** Signs in through the sign-in form, as a person would. */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/`)
  await page.getByLabel('API token').fill(token)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('navigation', { name: 'Pages' }).waitFor()
}

export interface DashboardSession {
  /** The app, listening at t.baseUrl. */
  t: TestApp & { baseUrl: string }
  browser: Browser
  page: Page
  /** A viewer token made through the API. */
  viewerToken: string
  /** A screenshot named after the backend and `name`. */
  shot(name: string): Promise<void>
}

/**
 * A browser test's set-up for a describe block: the real app listening on a free port, a
 * viewer token, Chromium with one page (signed in as the admin when `signIn` is set); all
 * closed in afterAll. The fields are there once beforeAll has run.
 */
export function useDashboard(
  backend: Backend,
  options: { env: Record<string, string>; viewerName: string; signIn?: boolean },
): DashboardSession {
  const t = useTestApp(backend, { env: options.env, listen: true })
  const session = { t } as DashboardSession
  beforeAll(async () => {
    const viewer = await t.request('POST', '/api/tokens', { name: options.viewerName, role: 'viewer' })
    session.viewerToken = viewer.json().secret
    session.browser = await launchBrowser()
    session.page = await session.browser.newPage()
    if (options.signIn) {
      await signIn(session.page, t.baseUrl, t.adminToken)
      await session.page.getByTestId('live-status').filter({ hasText: 'Live' }).waitFor()
    }
  })
  afterAll(async () => {
    await session.browser?.close()
  })
  session.shot = (name) => screenshot(session.page, `${backend.name.replace(/\W/g, '-')}-${name}`)
  return session
}
