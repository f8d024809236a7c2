import { describe, expect, it } from 'vitest'
import { backends, useTestApp } from '../../helpers/app.js'

const METRICS_TOKEN = 'scrape-token-0123456789abcdef'

describe.each(backends)('GET /metrics with METRICS_TOKEN set ($name)', (backend) => {
  const t = useTestApp(backend, { env: { METRICS_TOKEN, SAMPLE_INTERVAL_MS: '60000' } })

  const scrape = (authorization?: string) =>
    t.app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} })

  it('answers 401 JSON without credentials', async () => {
    const res = await scrape()
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toContain('Bearer')
    expect(res.json()).toEqual({ error: { code: 'unauthorized', message: expect.stringContaining('METRICS_TOKEN') } })
  })

  it('answers 401 to a wrong token, a token of another length, and an admin API token', async () => {
    expect((await scrape(`Bearer ${METRICS_TOKEN.slice(0, -1)}x`)).statusCode).toBe(401)
    expect((await scrape(`Bearer ${METRICS_TOKEN}extra`)).statusCode).toBe(401)
    expect((await scrape(`Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}`)).statusCode).toBe(401)
    expect((await scrape(t.auth().authorization)).statusCode).toBe(401)
  })

  it('serves the exposition to the right bearer token', async () => {
    const res = await scrape(`Bearer ${METRICS_TOKEN}`)
    expect(res.statusCode).toBe(200)
    expect(res.body).toContain('# TYPE http_requests_total counter')
    expect((await scrape(`bearer ${METRICS_TOKEN}`)).statusCode).toBe(200)
  })
})
