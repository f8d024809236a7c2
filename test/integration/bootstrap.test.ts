import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { backends, createTestApp, dropTestData, uniqueName } from '../helpers/app.js'

const TOKEN_IN_LOG = /ccp_[A-Za-z0-9_-]{43}/g

function tokenLines(logs: Array<Record<string, unknown>>): string[] {
  return logs
    .map((l) => String(l.msg ?? ''))
    .filter((msg) => TOKEN_IN_LOG.test(msg) && (TOKEN_IN_LOG.lastIndex = 0) === 0)
}

describe.each(backends)('bootstrap admin token ($name)', (backend) => {
  const schema = uniqueName('boot')
  const cachePrefix = `ccp-test:${uniqueName('boot')}:`
  const dataDir = mkdtempSync(join(tmpdir(), 'ccp-boot-'))
  const shared = { schema, cachePrefix, dataDir, keepData: true, captureLogs: true, withoutAdminToken: true }
  afterAll(async () => {
    await dropTestData(backend, { schema, cachePrefix })
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('prints an admin token once on first start, with how to use it, and never again', async () => {
    const first = await createTestApp(backend, shared)
    const lines = tokenLines(first.logs)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('Authorization: Bearer')
    const token = lines[0]!.match(/ccp_[A-Za-z0-9_-]{43}/)![0]
    const me = await first.request('GET', '/api/auth/me', undefined, { token: token })
    expect(me.statusCode).toBe(200)
    expect(me.json().role).toBe('admin')
    await first.close()

    const second = await createTestApp(backend, shared)
    expect(tokenLines(second.logs)).toEqual([])
    expect((await second.request('GET', '/api/auth/me', undefined, { token: token })).statusCode).toBe(200)
    await second.close()
  })

  it('uses ADMIN_TOKEN as the admin token and prints no token', async () => {
    const adminToken = `ccp_${'x'.repeat(43)}`
    const t = await createTestApp(backend, { ...shared, env: { ADMIN_TOKEN: adminToken } })
    expect(tokenLines(t.logs)).toEqual([])
    const me = await t.request('GET', '/api/auth/me', undefined, { token: adminToken })
    expect(me.json()).toMatchObject({ role: 'admin', name: 'ADMIN_TOKEN' })
    await t.close()
  })
})
