import type { FastifyInstance } from 'fastify'
import { errorBodyFor } from './errors.js'

/** The log line of a request refused because the server is closing (tests read it). */
export const REFUSED_WHILE_CLOSING = 'refused: the server is closing'

/**
 * Once `app.close()` has begun, a request that still arrives (pipelined, or on a kept-alive
 * connection) is answered 503 in our error shape with `connection: close` and `retry-after`,
 * before any other hook runs: no auth, no database, no provider call. Fastify's own
 * return503OnClosing answers a fixed body of its own (`{"error":"Service Unavailable",…}`),
 * so it is off and this hook, registered first, does the job.
 */
export function refuseWhileClosing(app: FastifyInstance): void {
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onRequest', (request, reply, done) => {
    if (!closing) return done()
    request.log.info(REFUSED_WHILE_CLOSING)
    const body = {
      error: {
        code: 'service_unavailable',
        message: 'The server is shutting down; retry the request (another instance will answer)',
      },
    }
    void reply
      .code(503)
      .headers({ connection: 'close', 'retry-after': '1' })
      .type('application/json; charset=utf-8')
      .send(errorBodyFor(request.url, 503, body))
  })
}
