import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { badRequest, conflict, notFound, unauthorized } from '../errors.js'
import { DateTime, ErrorResponse, IdParams } from '../contract/common.js'
import { PrincipalView as Me, Role, TokenGrantFields, TokenView } from '../contract/auth.js'
import type { TokenGrant } from './token-repository.js'
import { SESSION_COOKIE } from './authenticator.js'

export interface AuthRoutesOptions {
  /** The row of ADMIN_TOKEN, which the environment manages: not revocable through the API. */
  environmentTokenId: string | undefined
}

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (app, { environmentTokenId }) => {
  const { config } = app
  const secureCookie = config.publicUrl.startsWith('https://')

  app.post(
    '/api/auth/session',
    {
      config: { access: 'public', rateLimit: { max: config.auth.signinRateLimitPerMinute, timeWindow: 60_000 } },
      schema: {
        tags: ['auth'],
        summary: 'Sign in to the dashboard with an API token (sets an httpOnly session cookie)',
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ principal: Me, expiresAt: DateTime }), 401: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request, reply) => {
      const principal = await app.authenticator.fromBearer(request.body.token)
      if (!principal || principal.role === 'chat') {
        throw unauthorized(
          principal
            ? 'Chat tokens cannot sign in to the dashboard; use an admin or viewer token'
            : 'Unknown or revoked token',
        )
      }
      const expiresAt = Date.now() + config.auth.sessionTtlHours * 3_600_000
      const session = await app.dashboardSessions.create(principal.tokenId, new Date(expiresAt))
      reply.setCookie(SESSION_COOKIE, session.id, {
        signed: true,
        httpOnly: true,
        sameSite: 'strict',
        secure: secureCookie,
        path: '/',
        expires: new Date(expiresAt),
      })
      return { principal: { ...principal, via: 'session' as const }, expiresAt: new Date(expiresAt).toISOString() }
    },
  )

  app.delete(
    '/api/auth/session',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['auth'],
        summary: 'Sign out: ends the session on every instance (its cookie is refused, its live sockets closed)',
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { session } = request.principal!
      if (session) await app.authenticator.endSession(session.id)
      reply.clearCookie(SESSION_COOKIE, { path: '/' })
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/api/auth/me',
    {
      config: { access: 'authenticated' },
      schema: { tags: ['auth'], summary: 'Who the credentials belong to', response: { 200: Me } },
    },
    async (request) => request.principal!,
  )

  app.get(
    '/api/tokens',
    {
      // Viewers read the list (the dashboard's Tokens page, read-only for them); secrets are never in it.
      config: { access: 'viewer' },
      schema: {
        tags: ['auth'],
        summary: 'List API tokens (never their secrets); viewers may read it',
        response: { 200: Type.Object({ tokens: Type.Array(TokenView) }) },
      },
    },
    async () => {
      const tokens = await app.tokens.list()
      const usage = await app.usage.tokenUsage(tokens)
      return { tokens: tokens.map((t) => ({ ...t, usage: usage.get(t.id) })) }
    },
  )

  app.post(
    '/api/tokens',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'Create an API token; its secret is in this response and nowhere else',
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 100 }), role: Role, ...TokenGrantFields },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ token: TokenView, secret: Type.String() }), 400: ErrorResponse },
      },
    },
    async (request, reply) => {
      const principal = request.principal!
      const { name, role, ...fields } = request.body
      const created = await app.tokens.create({
        name: name.trim(),
        role,
        createdBy: principal.name,
        grant: grantOf(fields),
      })
      await app.audit.record(request, {
        action: 'token.create',
        target: created.token.id,
        params: { name: created.token.name, role: created.token.role, ...fields },
      })
      return reply.code(201).send(created)
    },
  )

  app.patch(
    '/api/tokens/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['auth'],
        summary: "Change a token's project, limits, budget or expiry (the fields sent; null clears)",
        params: IdParams,
        body: Type.Object(TokenGrantFields, { additionalProperties: false }),
        response: { 200: Type.Object({ token: TokenView }), 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params
      const token = await app.tokens.updateGrant(id, grantOf(request.body))
      if (!token) throw notFound(`Active token ${id}`)
      await app.authenticator.changed()
      await app.audit.record(request, { action: 'token.update', target: id, params: { ...request.body } })
      return { token }
    },
  )

  app.delete(
    '/api/tokens/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'Revoke an API token',
        params: IdParams,
        response: { 200: Type.Object({ token: TokenView }), 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params
      const existing = await app.tokens.findActiveById(id)
      if (!existing) throw notFound(`Active token ${id}`)
      if (existing.role === 'admin' && (await app.tokens.countActive('admin')) <= 1) {
        throw conflict(
          'This is the last active admin token; create another admin token before revoking it',
          'last_admin_token',
        )
      }
      if (id === environmentTokenId) {
        // ADMIN_TOKEN is set anew at every start: it is replaced there, not here.
        throw conflict(
          'This token is ADMIN_TOKEN, managed by the environment: to replace it, rotate ADMIN_TOKEN and restart (the restart revokes the old one)',
          'environment_token',
        )
      }
      const token = await app.tokens.revoke(id)
      if (!token) throw notFound(`Active token ${id}`)
      await app.authenticator.revoked(id)
      await app.audit.record(request, {
        action: 'token.revoke',
        target: id,
        params: { name: token.name, role: token.role },
      })
      return { token }
    },
  )
}

/** The grant fields of a POST or PATCH body (only those sent); an expiry must lie ahead. */
function grantOf(body: {
  project?: string | null
  expires_at?: Date | string | null
  limits?: TokenGrant['limits']
  budget?: TokenGrant['budget']
}): Partial<TokenGrant> {
  const grant: Partial<TokenGrant> = {}
  if (body.project !== undefined) grant.project = body.project
  if (body.limits !== undefined) grant.limits = body.limits
  if (body.budget !== undefined) {
    if (body.budget && body.budget.tokens === undefined && body.budget.cost === undefined)
      throw badRequest('budget needs tokens, cost or both', 'invalid_budget')
    grant.budget = body.budget
  }
  if (body.expires_at !== undefined) {
    const expiresAt = body.expires_at === null ? null : new Date(body.expires_at)
    if (expiresAt && !(expiresAt.getTime() > Date.now()))
      throw badRequest('expires_at must lie in the future', 'invalid_expiry')
    grant.expiresAt = expiresAt
  }
  return grant
}
