import { randomBytes, randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import fastifyCookie from '@fastify/cookie'
import type { FastifyInstance } from 'fastify'
import { forbidden, unauthorized } from '../errors.js'
import { getOrCreateSetting } from '../infra/db/settings.js'
import { DEFAULT_ACCESS, roleAllows } from './access.js'
import { Authenticator, presentsCredentials } from './authenticator.js'
import { adoptAdminToken, bootstrapAdminToken, type Terminal } from './bootstrap.js'
import { registerCsrfProtection } from './csrf.js'
import { failedAuthLimit } from './failed-auth-limit.js'
import { TokenRevocations } from './revocations.js'
import { authRoutes } from './routes.js'
import { SessionRepository } from './session-repository.js'
import { TokenRepository } from './token-repository.js'

declare module 'fastify' {
  interface FastifyInstance {
    tokens: TokenRepository
    /** Dashboard sign-ins (server-side sessions behind the cookie). */
    dashboardSessions: SessionRepository
    authenticator: Authenticator
  }
}

export interface AuthOptions {
  /** Where the bootstrap admin token may be printed (process.stdout). */
  terminal: Terminal
}

/**
 * Auth for every route: an onRequest hook reads `config.access` (default admin) and
 * rejects with 401 (no or bad credentials), 403 (wrong role) or 429 (an address over the
 * failed-authentication limit) before anything else runs.
 */
export default fp(
  async function authPlugin(app: FastifyInstance, options: AuthOptions) {
    const { config } = app
    const tokens = new TokenRepository(app.db)
    const sessions = new SessionRepository(app.db)
    let revocations: TokenRevocations | undefined
    const authenticator = new Authenticator(tokens, {
      onTouchError: (err) => app.log.warn({ err }, 'could not record token use'),
      announceRevocation: async (tokenId) => revocations?.announce(tokenId),
      sessions,
      announceSessionEnd: async (sessionId) => revocations?.announceSessionEnd(sessionId),
      onEnded: (ended) => app.events.emit('credentials-ended', ended),
      adminToken: config.auth.adminToken,
    })
    if (app.redis) {
      revocations = new TokenRevocations(
        app.redis,
        config.cachePrefix,
        randomUUID(),
        (ended) => authenticator.endedElsewhere(ended),
        app.log,
      )
      revocations.start()
      app.addHook('onClose', async () => revocations?.stop())
    }
    app.decorate('tokens', tokens)
    app.decorate('dashboardSessions', sessions)
    app.decorate('authenticator', authenticator)

    const secret =
      config.auth.sessionSecret ??
      (await getOrCreateSetting(app.db, 'session_secret', () => randomBytes(32).toString('base64url')))
    await app.register(fastifyCookie, { secret, hook: 'onRequest' })

    const { adminToken } = config.auth
    const environmentTokenId = adminToken ? await adoptAdminToken(app, tokens, adminToken, revocations) : undefined
    if (!adminToken) await bootstrapAdminToken(app, tokens, options.terminal)

    const failures = failedAuthLimit(app)

    app.decorateRequest('principal', null)
    app.addHook('onRequest', async (request) => {
      const access = request.routeOptions.config?.access ?? DEFAULT_ACCESS
      if (access === 'public' || request.is404) return
      const refusal = failures.refusal(request.ip)
      if (refusal) throw refusal
      const principal = await authenticator.authenticate(request)
      if (!principal) {
        if (presentsCredentials(request)) throw (await failures.failed(request.ip)) ?? unauthorized()
        throw unauthorized()
      }
      request.principal = principal
      if (!roleAllows(principal.role, access)) {
        throw forbidden(
          `This needs the ${access === 'chat' ? 'chat or admin' : access === 'viewer' ? 'viewer or admin' : access} role; your token has the ${principal.role} role`,
        )
      }
    })
    registerCsrfProtection(app, {
      publicOrigin: new URL(config.publicUrl).origin,
      acceptRequestOrigin: !config.publicUrlConfigured,
    })

    await app.register(authRoutes, { environmentTokenId })
  },
  { name: 'auth', dependencies: ['database', 'redis', 'audit'] },
)
