import { randomBytes, randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import fastifyCookie from '@fastify/cookie'
import type { FastifyInstance } from 'fastify'
import { forbidden, unauthorized } from '../errors.js'
import { getOrCreateSetting } from '../infra/db/settings.js'
import { DEFAULT_ACCESS, roleAllows } from './access.js'
import { Authenticator } from './authenticator.js'
import { registerCsrfProtection } from './csrf.js'
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

export const ADMIN_TOKEN_NAME = 'ADMIN_TOKEN'

/**
 * Auth for every route: an onRequest hook reads `config.access` (default admin) and
 * rejects with 401 (no or bad credentials) or 403 (wrong role) before anything else runs.
 */
export default fp(
  async function authPlugin(app: FastifyInstance) {
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

    await bootstrapAdminToken(app, tokens, revocations)

    app.decorateRequest('principal', null)
    app.addHook('onRequest', async (request) => {
      const access = request.routeOptions.config?.access ?? DEFAULT_ACCESS
      if (access === 'public' || request.is404) return
      const principal = await authenticator.authenticate(request)
      if (!principal) throw unauthorized()
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

    await app.register(authRoutes)
  },
  { name: 'auth', dependencies: ['database', 'redis', 'audit'] },
)

async function bootstrapAdminToken(
  app: FastifyInstance,
  tokens: TokenRepository,
  revocations: TokenRevocations | undefined,
): Promise<void> {
  const { adminToken } = app.config.auth
  if (adminToken) {
    const { revoked } = await tokens.ensureNamedToken(ADMIN_TOKEN_NAME, 'admin', adminToken)
    app.log.info('admin token taken from ADMIN_TOKEN')
    // A new ADMIN_TOKEN rotated the old one out: instances still running stop accepting it now.
    if (revoked > 0) await revocations?.announce(null)
    return
  }
  if ((await tokens.countActive()) > 0) return
  // Several instances may start at once on a fresh database: only the one that claims the
  // bootstrap creates (and prints) the token.
  if (!(await tokens.claimBootstrap())) return
  const { secret } = await tokens.create({ name: 'bootstrap admin', role: 'admin', createdBy: 'bootstrap' })
  app.log.warn(
    `Admin token (shown once, store it now): ${secret} — sign in to the dashboard at ${app.config.publicUrl} with it, or send "Authorization: Bearer ${secret}"`,
  )
}
