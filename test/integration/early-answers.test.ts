import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DRAIN_MAX_BYTES } from '../../server/infra/http/drain.js'
import { createTestApp, embedded, type TestApp } from '../helpers/app.js'
import { freePort } from '../helpers/process.js'

/**
 * A naive client writes its whole request body before it reads anything (Python's urllib).
 * When the server answers early (413 for a declared length over the limit, 401 from the auth
 * hook), the answer must still reach it, not a broken pipe. The body is far larger than the
 * socket buffers, so a server that closes at once makes the client's writes fail.
 */
async function writeAllThenRead(
  port: number,
  head: Record<string, string>,
  bodyBytes: number,
): Promise<{ writeError: string | null; response: string }> {
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  let response = ''
  let writeError: string | null = null
  socket.on('error', (err: NodeJS.ErrnoException) => (writeError ??= err.code ?? err.message))
  const headers = Object.entries({ ...head, 'content-length': String(bodyBytes) })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')
  // `connection: close`, as urllib sends: the server closes once it has answered.
  socket.write(`POST /api/tokens HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n${headers}\r\n`)
  const chunk = Buffer.alloc(64 * 1024, 'x')
  // Write it all first, honouring backpressure, as urllib does; read nothing meanwhile.
  socket.pause()
  for (let sent = 0; sent < bodyBytes && !writeError && !socket.destroyed; sent += chunk.length) {
    const piece = chunk.subarray(0, Math.min(chunk.length, bodyBytes - sent))
    if (!socket.write(piece))
      await new Promise<void>((resolve) => {
        socket.once('drain', resolve).once('close', resolve)
      })
  }
  socket.on('data', (d: Buffer) => (response += d.toString()))
  socket.resume()
  await new Promise<void>((resolve) => socket.once('close', resolve))
  return { writeError, response }
}

describe('answers that go out before the body was read', () => {
  let t: TestApp
  let port: number
  beforeAll(async () => {
    port = await freePort()
    t = await createTestApp(embedded)
    await t.app.listen({ host: '127.0.0.1', port })
  })
  afterAll(() => t.close())

  const json = { 'content-type': 'application/json' }
  const body = 12 * 1_048_576

  it('413: a body declared over BODY_LIMIT_BYTES is read and dropped, then the client gets the 413', async () => {
    expect(body).toBeLessThan(DRAIN_MAX_BYTES)
    const { writeError, response } = await writeAllThenRead(port, { ...json, ...t.auth() }, body)
    expect(writeError).toBeNull()
    expect(response).toMatch(/^HTTP\/1\.1 413 /)
    expect(response).toContain('"code":"body_too_large"')
  })

  it('401: a refused request with a large body gets its 401, not a broken pipe', async () => {
    const { writeError, response } = await writeAllThenRead(port, json, body)
    expect(writeError).toBeNull()
    expect(response).toMatch(/^HTTP\/1\.1 401 /)
    expect(response).toContain('"code":"unauthorized"')
  })
})
