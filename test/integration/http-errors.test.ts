import { describe, expect, it } from 'vitest'
import { embedded, useTestApp } from '../helpers/app.js'

describe('HTTP error handling and headers', () => {
  const t = useTestApp(embedded, { env: { BODY_LIMIT_BYTES: '2048' } })

  /** POST /api/tokens with a raw body of the given content type. */
  const postRaw = (contentType: string, body: string) =>
    t.request('POST', '/api/tokens', body, { headers: { 'content-type': contentType } })

  it('answers malformed JSON with 400 invalid_json', async () => {
    const res = await postRaw('application/json', '{"name": ')
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('invalid_json')
  })

  it('answers an oversized body with 413', async () => {
    const res = await t.request('POST', '/api/tokens', { name: 'x'.repeat(4096), role: 'viewer' })
    expect(res.statusCode).toBe(413)
    expect(res.json().error.code).toBe('body_too_large')
  })

  it('answers an unsupported content type with 415', async () => {
    const res = await postRaw('application/x-yaml', 'name: x')
    expect(res.statusCode).toBe(415)
  })

  it('answers unknown API routes with a JSON 404', async () => {
    const res = await t.request('GET', '/api/does-not-exist')
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({ error: { code: 'not_found', message: 'Route GET /api/does-not-exist not found' } })
  })

  it('answers a path parameter that is too long or badly encoded with our JSON error', async () => {
    const long = await t.request('GET', `/api/conversations/${'x'.repeat(200)}`)
    expect(long.statusCode).toBe(414)
    expect(long.json()).toEqual({
      error: { code: 'uri_too_long', message: 'A path parameter is longer than 100 characters' },
    })
    const bad = await t.request('GET', '/api/conversations/%zz')
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toEqual({ error: { code: 'bad_url', message: 'The URL path is not validly percent-encoded' } })
  })

  it('sends security headers with a CSP the dashboard works under', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/live' })
    const csp = String(res.headers['content-security-policy'])
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/)
    expect(res.headers['x-content-type-options']).toBe('nosniff')
  })

  it('compresses responses over 1 KiB and serves the OpenAPI document to authenticated callers', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/openapi.json',
      headers: { ...t.auth(), 'accept-encoding': 'gzip' },
    })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-encoding']).toBe('gzip')
    const plain = await t.request('GET', '/api/openapi.json')
    expect(plain.json().openapi).toBe('3.1.0')
    expect(Object.keys(plain.json().paths)).toContain('/api/tokens')
  })
})
