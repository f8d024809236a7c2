import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { embedded } from '../helpers/app.js'
import { screenshot, signIn, useDashboard } from '../helpers/browser.js'

/**
 * On-call people open the dashboard on a phone: at 390×844 (and down to 360 px) no page may
 * be wider than the screen. Tables scroll inside their card, charts fit, the header collapses.
 */
const PHONE = { width: 390, height: 844 }

/** Elements that stick out past the right edge of the screen, widest first (what to fix). */
async function overflow(page: Page): Promise<{ scrollWidth: number; culprits: string[] }> {
  // A script, not a function: the tests compile without the DOM's types.
  return page.evaluate(OVERFLOW_SCRIPT) as Promise<{ scrollWidth: number; culprits: string[] }>
}

const OVERFLOW_SCRIPT = `(() => {
  const width = document.documentElement.clientWidth
  const culprits = []
  for (const el of document.querySelectorAll('body *')) {
    const rect = el.getBoundingClientRect()
    if (rect.right <= width + 0.5 || rect.width === 0) continue
    // Inside a box that scrolls sideways by itself (and fits): that is the intended way out.
    let scroller = el.parentElement
    let contained = false
    while (scroller && scroller !== document.body) {
      const style = getComputedStyle(scroller)
      if (['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX) && scroller.getBoundingClientRect().right <= width + 0.5) {
        contained = true
        break
      }
      scroller = scroller.parentElement
    }
    if (!contained) culprits.push(el.tagName.toLowerCase() + '.' + String(el.className).split(' ').join('.') + ' right=' + Math.round(rect.right))
  }
  return { scrollWidth: document.documentElement.scrollWidth, culprits: culprits.slice(0, 8) }
})()`

/** Every page the navigation offers (its links, whether shown or folded away). */
const NAV_PAGES_SCRIPT = `[...document.querySelectorAll('nav[aria-label="Pages"] a')].map((a) => ({ path: a.getAttribute('href'), title: a.textContent.trim() }))`

describe('every page at phone width (embedded)', () => {
  const ui = useDashboard(embedded, { env: { INSTANCE_ID: 'e2e-narrow' }, viewerName: 'e2e narrow viewer' })
  let page: Page
  beforeAll(async () => {
    page = ui.page
    await page.setViewportSize(PHONE)
    await signIn(page, ui.t.baseUrl, ui.t.adminToken)
    // Some traffic, so that tables and charts have rows and lines.
    for (let i = 0; i < 3; i++) await ui.t.chat(`narrow screen prompt ${i}`)
  })

  for (const width of [PHONE.width, 360]) {
    it(`no page is wider than a ${width} px screen`, async () => {
      await page.setViewportSize({ width, height: PHONE.height })
      const problems: string[] = []
      const pages = (await page.evaluate(NAV_PAGES_SCRIPT)) as Array<{ path: string; title: string }>
      expect(pages.length).toBeGreaterThanOrEqual(9)
      for (const route of pages) {
        await page.goto(`${ui.t.baseUrl}${route.path}`)
        await page.getByRole('heading', { level: 1 }).first().waitFor()
        await page.waitForTimeout(300)
        const { scrollWidth, culprits } = await overflow(page)
        await screenshot(page, `narrow-${width}-${route.title.replace(/\W+/g, '-').toLowerCase()}`)
        if (scrollWidth > width) problems.push(`${route.title}: ${scrollWidth} px wide; ${culprits.join(', ')}`)
      }
      await page.goto(`${ui.t.baseUrl}/`)
      expect(problems).toEqual([])
    })
  }
})
