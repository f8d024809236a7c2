import { request } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { pg_stat_statements } from '@electric-sql/pglite/contrib/pg_stat_statements'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { generateToken } from '../../server/auth/token-repository.js'
import { dropTestData, embedded, real, uniqueName } from '../helpers/app.js'
import { startService, type ServiceProcess } from '../helpers/process.js'

describe('graceful shutdown', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccp-shutdown-'))
  // Its own schema and key prefix (with DATABASE_URL set it would otherwise use the shared default schema).
  const schema = uniqueName('test')
  const cachePrefix = `ccp-test:${uniqueName('shutdown')}:`
  let service: ServiceProcess | undefined
  afterAll(async () => {
    service?.child.kill('SIGKILL')
    await service?.exited
    await dropTestData(real ?? embedded, { schema, cachePrefix })
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('finishes a request that is in flight at SIGTERM, refuses new work, and exits 0', async () => {
    const adminToken = generateToken()
    service = await startService({
      DATA_DIR: dataDir,
      ADMIN_TOKEN: adminToken,
      DATABASE_SCHEMA: schema,
      CACHE_PREFIX: cachePrefix,
    })
    const body = JSON.stringify({ name: 'created during shutdown', role: 'viewer' })

    // The client sends half of the body, the service receives SIGTERM, then the rest arrives.
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${service!.url}/api/tokens`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${adminToken}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
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

/**
 * Analytics events are written behind the requests, in batches: what is still buffered at
 * SIGTERM (answered in the last moments, or while the server drained) is written before exit.
 * On the real Postgres when DATABASE_URL is set, else on the service's embedded PGlite.
 */
describe('graceful shutdown keeps every analytics event of the requests it answered', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccp-shutdown-events-'))
  const schema = uniqueName('test')
  const cachePrefix = `ccp-test:${uniqueName('shutdown')}:`
  let service: ServiceProcess | undefined
  afterAll(async () => {
    service?.child.kill('SIGKILL')
    await dropTestData(real ?? embedded, { schema, cachePrefix })
    rmSync(dataDir, { recursive: true, force: true })
  })

  async function countEvents(): Promise<number> {
    const query = `select count(*)::int as n from "${schema}".analytics_events where type = 'chat_completion'`
    if (real?.databaseUrl) {
      const client = new pg.Client({ connectionString: real.databaseUrl })
      await client.connect()
      try {
        return (await client.query<{ n: number }>(query)).rows[0]!.n
      } finally {
        await client.end()
      }
    }
    // Opened as the service opens it (with its extension), or PGlite refuses the data dir.
    const db = await PGlite.create({ dataDir: join(dataDir, 'pglite'), extensions: { pg_stat_statements } })
    try {
      return (await db.query<{ n: number }>(query)).rows[0]!.n
    } finally {
      await db.close()
    }
  }

  it('writes one event per answered chat request, including those answered just before and during shutdown', async () => {
    const adminToken = generateToken()
    service = await startService({
      DATA_DIR: dataDir,
      ADMIN_TOKEN: adminToken,
      DATABASE_SCHEMA: schema,
      CACHE_PREFIX: cachePrefix,
      SIM_FIRST_TOKEN_MS: '0',
      SIM_TOKENS_PER_SECOND: '100000',
      JOBS_ENABLED: 'false',
    })
    const url = `${service.url}/v1/chat/completions`
    const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }
    let answered = 0
    let sent = 0
    let stop = false
    // Eight clients in a loop (a new prompt each time: no cache hits) until the service stops answering.
    const client = async (id: number) => {
      for (let i = 0; !stop; i++) {
        sent++
        const res = await fetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ messages: [{ role: 'user', content: `client ${id} prompt ${i}` }] }),
        }).catch(() => null)
        if (res?.status !== 200) return
        await res.text()
        answered++
      }
    }
    const clients = Array.from({ length: 8 }, (_, id) => client(id))
    // SIGTERM while every client has a request in flight: their events, and those of the last
    // moments before, are still buffered (writes happen every 250 ms); a graceful stop takes less.
    while (answered < 100) await new Promise((resolve) => setTimeout(resolve, 5))
    service.child.kill('SIGTERM')
    await Promise.all(clients.map((c) => c.catch(() => {})))
    stop = true
    expect(await service.exited).toBe(0)

    const events = await countEvents()
    // Every answered request has its event; a request whose answer the client did not get may too.
    expect(events).toBeGreaterThanOrEqual(answered)
    expect(events).toBeLessThanOrEqual(sent)
  })
})
