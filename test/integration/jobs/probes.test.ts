import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { diskCheck, diskFree, EventLoopProbe } from '../../../server/jobs/probes.js'

describe('health probes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ccp-probe-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('measures free disk where DATA_DIR is, or would be', async () => {
    const here = await diskFree(dir)
    expect(here.freeBytes).toBeGreaterThan(0)
    expect(here.totalBytes).toBeGreaterThanOrEqual(here.freeBytes)
    const notYet = await diskFree(join(dir, 'not', 'created'))
    expect(notYet.totalBytes).toBe(here.totalBytes)
    await expect(diskCheck(dir)(new AbortController().signal)).resolves.toBeUndefined()
  })

  it('reports the event loop down after it was blocked longer than the limit', async () => {
    const probe = new EventLoopProbe(100)
    try {
      await new Promise((r) => setTimeout(r, 50))
      const until = Date.now() + 400
      while (Date.now() < until) {
        // Blocks the loop, as a synchronous hot path would.
      }
      await new Promise((r) => setTimeout(r, 50))
      await expect(probe.check(new AbortController().signal)).rejects.toThrow(/event loop lagging/)
      expect(probe.delaySeconds()).toBeGreaterThan(0.1)
    } finally {
      probe.close()
    }
  })
})
