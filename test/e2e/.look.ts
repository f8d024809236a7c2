// Scratch: screenshots of a dashboard page in pieces (not a test; deleted before the hand-off).
import { backends, createTestApp } from '../helpers/app.js'
import { listenOnce } from '../helpers/live-client.js'
import { launchBrowser, signIn } from './harness.js'

const [path = '/', pieces = '2', width = '1280'] = process.argv.slice(2)
const t = await createTestApp(backends[0]!, { env: { VACUUM_MIN_DEAD_TUPLES: '1', VACUUM_DEAD_TUPLE_RATIO: '0' } })
const baseUrl = await listenOnce(t.app)
const browser = await launchBrowser()
const page = await browser.newPage()
await page.setViewportSize({ width: Number(width), height: 900 })
await signIn(page, baseUrl, t.adminToken)
await page.goto(`${baseUrl}${path}`)
await page.waitForTimeout(3000)
if (process.env.LOOK_SCRIPT) await (await import(process.env.LOOK_SCRIPT)).default(page, t)
for (let i = 0; i < Number(pieces); i++) {
  await page.evaluate((y) => window.scrollTo(0, y), i * 850)
  await page.waitForTimeout(200)
  await page.screenshot({ path: `/tmp/shots/${path.replace(/\W/g, '') || 'root'}-${i}.png` })
}
console.log(browser.errors)
await browser.close()
await t.close()
