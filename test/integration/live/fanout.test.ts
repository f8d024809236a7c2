import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LiveMessage } from '../../../server/contract/live.js'
import { backends, createTestApp, uniqueName, type TestApp } from '../../helpers/app.js'
import { connectLive, listenOnce, type LiveClient } from '../../helpers/live-client.js'

const healthEvent = (component: string) => ({ component, up: true, latencyMs: 1 })
const healthOf = (client: LiveClient, component: string) =>
  client.messages.filter((m) => m.type === 'health' && m.data.component === component)

/**
 * Two instances on one Redis prefix (each with its own database, as the events travel only
 * through Redis): a dashboard on either sees the events of both, each exactly once.
 */
describe.each(backends)('live hub: events across instances ($name)', (backend) => {
  let a: TestApp
  let b: TestApp
  let onA: LiveClient
  let onB: LiveClient
  beforeAll(async () => {
    const cachePrefix = `ccp-test:${uniqueName('fanout')}:`
    a = await createTestApp(backend, { cachePrefix, env: { INSTANCE_ID: 'instance-a' } })
    b = await createTestApp(backend, { cachePrefix, env: { INSTANCE_ID: 'instance-b' } })
    onA = await connectLive(await listenOnce(a.app), a.auth())
    onB = await connectLive(await listenOnce(b.app), b.auth())
    await Promise.all([onA.next('history'), onB.next('history')])
  })
  afterAll(async () => {
    await onA?.close()
    await onB?.close()
    await a?.close()
    await b?.close()
  })

  it(
    backend.redisUrl
      ? 'delivers the events of another instance, tagged with it'
      : 'without Redis, delivers only the events of its own instance',
    async () => {
      const created = await a.request('POST', '/api/tokens', { name: 'made on a', role: 'viewer' })
      expect(created.statusCode).toBe(201)
      const onOwn = await onA.next('audit', (m) => m.data.target === created.json().token.id)
      expect(onOwn.instance).toBe('instance-a')

      // A later event on b itself: by the time it arrives, a's event has either come or never will.
      b.app.events.emit('health', healthEvent('barrier-1'))
      await onB.next('health', (m) => m.data.component === 'barrier-1')
      const seenOnB = onB.messages.filter(
        (m): m is Extract<LiveMessage, { type: 'audit' }> =>
          m.type === 'audit' && m.data.target === created.json().token.id,
      )
      if (backend.redisUrl) {
        const fromA = seenOnB.length
          ? seenOnB[0]!
          : await onB.next('audit', (m) => m.data.target === created.json().token.id)
        expect(fromA.instance).toBe('instance-a')
        expect(fromA.data).toMatchObject({ action: 'token.create', actor: 'ADMIN_TOKEN' })
      } else {
        expect(seenOnB).toEqual([])
      }
    },
  )

  it('delivers each event once to the dashboards of the instance that emitted it', async () => {
    a.app.events.emit('health', healthEvent('once-1'))
    a.app.events.emit('health', healthEvent('once-2'))
    await onA.next('health', (m) => m.data.component === 'once-2')
    if (backend.redisUrl) {
      // b answers after seeing a's second event; Redis delivers a's own echoes (dropped) before it.
      await onB.next('health', (m) => m.data.component === 'once-2')
      b.app.events.emit('health', healthEvent('barrier-2'))
      await onA.next('health', (m) => m.data.component === 'barrier-2')
      expect(healthOf(onB, 'once-1')).toHaveLength(1)
    }
    expect(healthOf(onA, 'once-1')).toHaveLength(1)
    expect(healthOf(onA, 'once-2')).toHaveLength(1)
  })
})
