import { request } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { generateToken } from '../../server/auth/tokens.js'
import { startService, type ServiceProcess } from '../helpers/process.js'

describe('graceful shutdown', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccp-shutdown-'))
  let service: ServiceProcess | undefined
  afterAll(() => {
    service?.child.kill('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('finishes a request that is in flight at SIGTERM, refuses new work, and exits 0', async () => {
    const adminToken = generateToken()
    service = await startService({ DATA_DIR: dataDir, ADMIN_TOKEN: adminToken })
    const body = JSON.stringify({ name: 'created during shutdown', role: 'viewer' })

    // The client sends half of the body, the service receives SIGTERM, then the rest arrives.
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${service!.url}/api/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      })
      req.on('response', (res) => {
        let text = ''
        res.on('data', (d) => (text += d))
        res.on('end', () => resolve({ status: res.statusCode!, body: text }))
      })
      req.on('error', reject)
      req.write(body.slice(0, 10))
      setTimeout(() => {
        service!.child.kill('SIGTERM')
        setTimeout(() => req.end(body.slice(10)), 300)
      }, 200)
    })

    const result = await response
    expect(result.status).toBe(201)
    expect(JSON.parse(result.body).token.name).toBe('created during shutdown')
    expect(await service.exited).toBe(0)
    expect(service.output()).toContain('shutdown complete')
  })
})
