import type { IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'

/** The most of an unread request body read (and discarded) before an early answer goes out. */
export const DRAIN_MAX_BYTES = 16 * 1_048_576
/** And for at most this long: a client that trickles its body does not hold the answer back longer. */
export const DRAIN_MAX_MS = 5_000

/**
 * An answer that goes out before the request body was read (401 from the auth hook, 413 for a
 * declared length over BODY_LIMIT_BYTES, 415 …) is sent only once the rest of the body has
 * arrived, read and thrown away, up to DRAIN_MAX_BYTES and DRAIN_MAX_MS. Node closes such a
 * connection as soon as the answer is written; a client that writes its whole body before it
 * reads (Python's urllib, many simple scripts) then got a broken pipe instead of the status.
 * Past either bound the answer goes out at once and the connection closes, as before.
 */
export function drainUnreadBodies(app: FastifyInstance): void {
  app.addHook('onSend', async (request) => {
    const raw = request.raw
    if (raw.complete || raw.destroyed || raw.readableEnded) return
    const declared = Number(raw.headers['content-length'])
    if (Number.isFinite(declared) && declared > DRAIN_MAX_BYTES) return
    await drain(raw)
  })
}

function drain(raw: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    let read = 0
    const done = () => {
      clearTimeout(timer)
      raw.off('data', onData).off('end', done).off('error', done).off('close', done)
      resolve()
    }
    const onData = (chunk: Buffer) => {
      read += chunk.length
      if (read > DRAIN_MAX_BYTES) done()
    }
    const timer = setTimeout(done, DRAIN_MAX_MS)
    raw.on('data', onData).on('end', done).on('error', done).on('close', done)
    raw.resume()
  })
}
