import { describe, expect, it } from 'vitest'
import { backends, createTestApp, useTestApp } from '../helpers/app.js'

describe.each(backends)('request logs ($name)', (backend) => {
  const t = useTestApp(backend, { captureLogs: true })

  it('never carry the value of a token query parameter', async () => {
    const urls = [
      '/api/auth/me?token=secret-in-query-0001',
      '/api/audit?x=1&token=secret-in-query-0002&y=2',
      '/api/live?access_token=secret-in-query-0003',
      '/no/such/route?TOKEN=secret-in-query-0004',
      `/api/auth/me?token=${t.adminToken}`,
    ]
    for (const url of urls) await t.app.inject({ method: 'GET', url, headers: t.auth() })
    const logged = JSON.stringify(t.logs)
    expect(logged).toContain('incoming request')
    for (const secret of ['secret-in-query-0001', 'secret-in-query-0002', 'secret-in-query-0003']) {
      expect(logged).not.toContain(secret)
    }
    expect(logged).not.toContain('secret-in-query-0004')
    expect(logged).not.toContain(t.adminToken)
    // The rest of the URL is still there to read.
    expect(logged).toContain('x=1&token=[redacted]&y=2')
  })
})

describe.each(backends)('start-up warning about a public /metrics ($name)', (backend) => {
  const warnings = (logs: Array<Record<string, unknown>>) =>
    logs.filter((l) => Number(l.level) === 40 && /\/metrics/.test(String(l.msg)) && /METRICS_TOKEN/.test(String(l.msg)))

  it('warns when HOST is not a loopback address and METRICS_TOKEN is unset', async () => {
    const t = await createTestApp(backend, { captureLogs: true, env: { HOST: '0.0.0.0' } })
    try {
      expect(warnings(t.logs)).toHaveLength(1)
      expect(String(warnings(t.logs)[0]!.msg)).toMatch(/public/)
    } finally {
      await t.close()
    }
  })

  it('does not warn on a loopback HOST or with METRICS_TOKEN set', async () => {
    for (const env of [
      { HOST: '127.0.0.1' } as Record<string, string>,
      { HOST: '0.0.0.0', METRICS_TOKEN: 'scrape-token-0123456789abcdef' },
    ]) {
      const t = await createTestApp(backend, { captureLogs: true, env })
      try {
        expect(warnings(t.logs)).toEqual([])
      } finally {
        await t.close()
      }
    }
  })
})
