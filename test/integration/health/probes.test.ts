import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { diskCheck, eventLoopCheck } from '../../../server/health/probes.js'
import { DiskUsage } from '../../../server/infra/probes/disk.js'
import { EventLoopLag } from '../../../server/infra/probes/event-loop.js'
import { createTestApp, embedded } from '../../helpers/app.js'

const signal = new AbortController().signal

/** Blocks the loop, as a synchronous hot path would. */
function blockFor(ms: number): void {
  const until = Date.now() + ms
  while (Date.now() < until) {
    // busy
  }
}
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('health probes on the shared measurements', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ccp-probe-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('measures the disk where DATA_DIR is, or would be, and finds it healthy', async () => {
    const here = await new DiskUsage(dir, (err) => expect.fail(String(err))).read()
    const notYet = await new DiskUsage(join(dir, 'not', 'created'), (err) => expect.fail(String(err))).read()
    expect(here!.availableBytes).toBeGreaterThan(0)
    expect(here!.capacityBytes).toBeGreaterThanOrEqual(here!.availableBytes)
    expect(notYet!.mount).toBe(here!.mount)
    await expect(diskCheck(new DiskUsage(dir, () => {}), dir)(signal)).resolves.toBeUndefined()
  })

  it('reports the disk down when almost nothing is left on it, or when it cannot be read', async () => {
    const nearlyFull = new DiskUsage(
      dir,
      () => {},
      30_000,
      async () => [{ mount: '/', size: 100 * 2 ** 30, used: 100 * 2 ** 30 - 2 ** 20, available: 2 ** 20 }],
    )
    await expect(diskCheck(nearlyFull, dir)(signal)).rejects.toThrow(/only 1 MiB free/)
    const unreadable = new DiskUsage(
      dir,
      () => {},
      30_000,
      async () => {
        throw new Error('df failed')
      },
    )
    await expect(diskCheck(unreadable, dir)(signal)).rejects.toThrow(/could not measure/)
  })

  it('reports the event loop down after it was blocked longer than the limit, and up again after', async () => {
    const lag = new EventLoopLag(100)
    const check = eventLoopCheck(lag, 300)
    try {
      await pause(50)
      blockFor(800)
      await pause(20)
      await expect(check(signal)).rejects.toThrow(/event loop lagging/)
      expect(lag.p99Seconds()).toBeGreaterThan(0.3)
      // Up again once a window passes without such a stall (a busy machine may take a few).
      let upAgain = false
      for (const until = Date.now() + 15_000; !upAgain && Date.now() < until; await pause(150)) {
        upAgain = await check(signal).then(
          () => true,
          () => false,
        )
      }
      expect(upAgain).toBe(true)
    } finally {
      lag.close()
    }
  })
})

describe('load shedding', () => {
  it('answers 503 with Retry-After while the loop lags more than MAX_EVENT_LOOP_DELAY_MS, then serves again', async () => {
    const t = await createTestApp(embedded, { env: { MAX_EVENT_LOOP_DELAY_MS: '400' } })
    const servedWithin = async (ms: number) => {
      for (const until = Date.now() + ms; Date.now() < until; await pause(300)) {
        if ((await t.app.inject({ url: '/health/live' })).statusCode === 200) return true
      }
      return false
    }
    try {
      // Start-up itself (or a busy machine) may have held the loop: wait for a calm window.
      expect(await servedWithin(20_000)).toBe(true)
      // A saturated loop: for 3 s (longer than the 1 s window) every turn takes 500 ms.
      for (const until = Date.now() + 3_000; Date.now() < until;) {
        blockFor(500)
        await new Promise((resolve) => setImmediate(resolve))
      }
      const shed = await t.app.inject({ url: '/health/live' })
      expect(shed.statusCode).toBe(503)
      expect(shed.headers['retry-after']).toBe('5')
      expect(shed.json().error.code).toBe('service_unavailable')
      // A calm window later the same measurement lets requests through again.
      expect(await servedWithin(20_000)).toBe(true)
    } finally {
      await t.close()
    }
  }, 60_000)
})
