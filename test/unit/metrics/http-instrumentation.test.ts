import { setTimeout as sleep } from 'node:timers/promises'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { createMetrics } from '../../../server/metrics/definitions.js'
import { instrumentHttp, UNMATCHED_ROUTE } from '../../../server/metrics/http-instrumentation.js'

async function instrumentedServer(slowRequestMs: number) {
  const logs: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      logs.push(JSON.parse(String(chunk)))
      done()
    },
  })
  const app = Fastify({ logger: { level: 'warn', stream } })
  const metrics = createMetrics({ instanceId: 't', defaultMetrics: false })
  instrumentHttp(app, metrics, slowRequestMs)
  app.get('/slow/:id', async () => {
    await sleep(30)
    return { ok: true }
  })
  app.get('/fast/:id', async () => ({ ok: true }))
  app.get('/scrape', { config: { metrics: false } }, async () => 'x')
  await app.ready()
  return { app, metrics, logs }
}

describe('HTTP instrumentation', () => {
  it('logs a request slower than SLOW_REQUEST_MS at warn with its route template, never its URL', async () => {
    const { app, logs } = await instrumentedServer(5)
    await app.inject({ method: 'GET', url: '/slow/secret-id?token=hunter2' })
    const slow = logs.filter((l) => l.msg === 'slow request')
    expect(slow).toHaveLength(1)
    expect(slow[0]).toMatchObject({ level: 40, route: '/slow/:id', method: 'GET', statusCode: 200 })
    expect(typeof slow[0]!.durationMs).toBe('number')
    expect(JSON.stringify(slow[0])).not.toContain('secret-id')
    expect(JSON.stringify(slow[0])).not.toContain('hunter2')
    await app.close()
  })

  it('does not log requests under the threshold', async () => {
    const { app, logs } = await instrumentedServer(60_000)
    await app.inject({ method: 'GET', url: '/slow/1' })
    expect(logs.filter((l) => l.msg === 'slow request')).toEqual([])
    await app.close()
  })

  it('labels by route template, shares one label for unmatched URLs, and skips routes that opt out', async () => {
    const { app, metrics } = await instrumentedServer(60_000)
    await app.inject({ method: 'GET', url: '/fast/1' })
    await app.inject({ method: 'GET', url: '/fast/2' })
    await app.inject({ method: 'GET', url: '/nothing/here/1' })
    await app.inject({ method: 'DELETE', url: '/nothing/here/2' })
    await app.inject({ method: 'GET', url: '/scrape' })
    const counted = (await metrics.httpRequestsTotal.get()).values.map((v) => [
      v.labels.method,
      v.labels.route,
      v.labels.status_code,
      v.value,
    ])
    expect(counted).toEqual([
      ['GET', '/fast/:id', '200', 2],
      ['GET', UNMATCHED_ROUTE, '404', 1],
      ['DELETE', UNMATCHED_ROUTE, '404', 1],
    ])
    await app.close()
  })
})
