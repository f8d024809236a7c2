import { existsSync, readFileSync } from 'node:fs'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { fromProjectRoot } from '../../paths.js'
import { errorBodyFor, isApiPath, notFoundBody, tooLongSegment } from './errors.js'

export const DASHBOARD_DIST = fromProjectRoot('dashboard', 'dist') + '/'

/**
 * The built dashboard at `/` (public: it holds no data, every API call it makes is
 * authenticated). Call on the root instance, after every other route.
 */
export async function registerDashboard(app: FastifyInstance): Promise<void> {
  const indexPath = `${DASHBOARD_DIST}index.html`
  const indexHtml = existsSync(indexPath) ? readFileSync(indexPath, 'utf8') : null
  if (indexHtml) {
    await app.register(async (scope) => {
      scope.addHook('onRoute', (route) => {
        route.config = { ...(route.config ?? {}), access: 'public' }
      })
      await scope.register(fastifyStatic, {
        root: DASHBOARD_DIST,
        prefix: '/',
        wildcard: true,
        index: ['index.html'],
        // Hashed assets never change; index.html must always be revalidated.
        setHeaders(res, path) {
          res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
        },
      })
    })
  } else {
    app.log.warn('dashboard/dist is missing; run `npm run build:dashboard` to serve the dashboard')
  }

  // Client-side routes (a browser asking for /alerts) get the dashboard page; everything
  // else unknown is a JSON 404.
  app.setNotFoundHandler((request, reply) => {
    const wantsPage =
      request.method === 'GET' && !isApiPath(request.url) && (request.headers.accept ?? '').includes('text/html')
    if (wantsPage && indexHtml)
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(indexHtml)
    const tooLong = tooLongSegment(request.url)
    if (tooLong) return reply.code(414).send(errorBodyFor(request.url, 414, tooLong))
    return reply.code(404).send(errorBodyFor(request.url, 404, notFoundBody(request)))
  })
}
