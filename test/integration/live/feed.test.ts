import { describe, expect, it } from 'vitest'
import { backends, type TestApp, useTestApp } from '../../helpers/app.js'
import { connectLive } from '../../helpers/live-client.js'

async function activeConnectionsGauge(t: TestApp): Promise<number> {
  return (await t.app.metrics.websocketActiveConnections.get()).values[0]?.value ?? 0
}

describe.each(backends)('live hub: what a dashboard receives ($name)', (backend) => {
  const t = useTestApp(backend, { listen: true })

  it('sends hello, then the history of every signal sampled so far, before anything else', async () => {
    const first = await t.app.sampler.tick()
    const second = await t.app.sampler.tick()
    const client = await connectLive(t.baseUrl, t.auth())
    const history = await client.next('history')
    expect(client.messages.slice(0, 2).map((m) => m.type)).toEqual(['hello', 'history'])

    expect(history.data.times).toEqual(expect.arrayContaining([first.at, second.at]))
    expect([...history.data.times].sort((a, b) => a - b)).toEqual(history.data.times)
    const names = new Set(history.data.lines.map((l) => l.name))
    for (const name of [
      'http_requests_per_second',
      'http_latency_p95_seconds',
      'system_cpu_usage_ratio',
      'system_memory_usage_ratio',
      'process_rss_bytes',
    ]) {
      expect(names).toContain(name)
    }
    for (const line of history.data.lines) expect(line.values).toHaveLength(history.data.times.length)

    const rss = history.data.lines.find((l) => l.name === 'process_rss_bytes')!
    const column = history.data.times.indexOf(second.at)
    expect(rss.values[column]).toBe(second.signals.find((s) => s.name === 'process_rss_bytes')!.value)
    await client.close()
  })

  it('sends each sampler tick as a snapshot of this instance, counting itself in websocket_connections', async () => {
    const client = await connectLive(t.baseUrl, t.auth())
    await client.next('history')
    const tick = await t.app.sampler.tick()
    const snapshot = await client.next('snapshot', (m) => m.data.at === tick.at)
    expect(snapshot.data.instance).toBe(t.config.instanceId)
    expect(snapshot.data.signals).toEqual(tick.signals)
    expect(snapshot.data.signals.find((s) => s.name === 'websocket_connections')?.value).toBe(1)
    await client.close()
  })

  it('forwards audit entries of admin actions as they are written', async () => {
    const client = await connectLive(t.baseUrl, t.auth())
    await client.next('history')
    const created = await t.request('POST', '/api/tokens', { name: 'seen live', role: 'viewer' })
    expect(created.statusCode).toBe(201)
    const audit = await client.next('audit', (m) => m.data.target === created.json().token.id)
    expect(audit.instance).toBe(t.config.instanceId)
    expect(audit.data).toMatchObject({
      action: 'token.create',
      actor: 'ADMIN_TOKEN',
      result: 'ok',
      params: { name: 'seen live', role: 'viewer' },
    })
    expect(typeof audit.data.at).toBe('string')
    await client.close()
  })

  it('forwards other app events by their name (health changes here)', async () => {
    const client = await connectLive(t.baseUrl, t.auth())
    await client.next('history')
    t.app.events.emit('health', { component: 'provider', up: false, latencyMs: 12, error: 'connection refused' })
    const health = await client.next('health')
    expect(health.data).toEqual({ component: 'provider', up: false, latencyMs: 12, error: 'connection refused' })
    await client.close()
  })

  it('keeps websocket_active_connections equal to the open sockets', async () => {
    const a = await connectLive(t.baseUrl, t.auth())
    const b = await connectLive(t.baseUrl, t.auth())
    await Promise.all([a.next('hello'), b.next('hello')])
    expect(await activeConnectionsGauge(t)).toBe(2)
    expect(t.app.live.size).toBe(2)
    await a.close()
    // The server sees the close after the client does; the next tick reads the hub's count.
    await b.next('snapshot', (m) => m.data.signals.some((s) => s.name === 'websocket_connections' && s.value === 1))
    expect(await activeConnectionsGauge(t)).toBe(1)
    await b.close()
  })
})
