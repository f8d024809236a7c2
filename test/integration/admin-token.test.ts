import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { generateToken } from '../../server/auth/token-repository.js'
import { backends, createTestApp, createToken, dropTestData, uniqueName, useTestApp } from '../helpers/app.js'

describe.each(backends)('ADMIN_TOKEN, managed by the environment ($name)', (backend) => {
  const t = useTestApp(backend)

  it('cannot be revoked through the API: 409 saying to rotate ADMIN_TOKEN and restart', async () => {
    // Another admin token exists, so this is not the last-admin-token refusal.
    await createToken(t, 'admin', 'second admin')
    const me = (await t.request('GET', '/api/auth/me')).json()
    expect(me.name).toBe('ADMIN_TOKEN')
    const res = await t.request('DELETE', `/api/tokens/${me.tokenId}`)
    expect(res.statusCode).toBe(409)
    expect(res.json().error.code).toBe('environment_token')
    expect(res.json().error.message).toMatch(/rotate ADMIN_TOKEN and restart/)
    expect((await t.request('GET', '/api/auth/me')).statusCode).toBe(200)
  })
})

describe.each(backends)('ADMIN_TOKEN revoked in the database ($name)', (backend) => {
  const schema = uniqueName('admin')
  const cachePrefix = `ccp-test:${uniqueName('admin')}:`
  const dataDir = mkdtempSync(join(tmpdir(), 'ccp-admin-'))
  const adminToken = generateToken()
  const shared = { schema, cachePrefix, dataDir, keepData: true, env: { ADMIN_TOKEN: adminToken } }
  afterAll(async () => {
    await dropTestData(backend, { schema, cachePrefix })
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('stays revoked after a restart, and the start says so and what to do', async () => {
    const first = await createTestApp(backend, shared)
    const breakGlass = await createToken(first, 'admin', 'break-glass')
    // Revoked some other way than the API: by hand, in SQL.
    await first.app.db
      .updateTable('api_tokens')
      .set({ revoked_at: new Date() })
      .where('name', '=', 'ADMIN_TOKEN')
      .execute()
    await first.close()

    const again = await createTestApp(backend, { ...shared, captureLogs: true })
    try {
      expect((await again.request('GET', '/api/auth/me')).statusCode).toBe(401)
      const asBreakGlass = await again.request('GET', '/api/auth/me', undefined, { token: breakGlass.secret })
      expect(asBreakGlass.statusCode).toBe(200)
      const said = again.logs.filter((l) => Number(l.level) >= 50 && /ADMIN_TOKEN/.test(String(l.msg)))
      expect(said).toHaveLength(1)
      expect(String(said[0]!.msg)).toMatch(/revoked/)
      expect(String(said[0]!.msg)).toMatch(/set ADMIN_TOKEN to a new value and restart/)
      expect(JSON.stringify(again.logs)).not.toContain(adminToken)
      const row = await again.app.db
        .selectFrom('api_tokens')
        .select('revoked_at')
        .where('name', '=', 'ADMIN_TOKEN')
        .executeTakeFirstOrThrow()
      expect(row.revoked_at).not.toBeNull()
    } finally {
      await again.close()
    }
  }, 120_000)
})
