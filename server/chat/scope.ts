import type { FastifyRequest } from 'fastify'
import { scopeOf, type Principal } from '../auth/access.js'
import { forbidden, unauthorized } from '../errors.js'
import { EVERY_SCOPE, type ScopeFilter } from './repositories/scope.js'

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized()
  return request.principal
}

/** The scope what the caller creates belongs to (admins too: their own token's or project's). */
export function ownerScope(request: FastifyRequest): string {
  return scopeOf(principalOf(request))
}

/**
 * Whose rows the caller sees: its own scope; an admin token every scope, or the one named by
 * the `scope` filter of a list. Anyone else naming a scope gets 403.
 */
export function visibleScope(request: FastifyRequest, filter?: string): ScopeFilter {
  const principal = principalOf(request)
  if (principal.role === 'admin') return filter ?? EVERY_SCOPE
  if (filter !== undefined && filter !== scopeOf(principal))
    throw forbidden('Only admin tokens filter by scope; a chat token sees its own scope')
  return scopeOf(principal)
}
