import type { TokenBudget, TokenLimits, TokenRole } from '../db/schema.js'

/**
 * Who may call a route, declared in the route's `config.access`. A route that declares
 * nothing is admin-only: forgetting to declare access can only make a route stricter.
 *  - public:        no credentials (health probes, sign-in, dashboard files)
 *  - authenticated: any valid token or session, whatever its role
 *  - chat:          the chat API (chat and admin roles)
 *  - viewer:        read-only admin APIs and the dashboard (viewer and admin roles)
 *  - admin:         everything else
 */
export type Access = 'public' | 'authenticated' | 'chat' | 'viewer' | 'admin'

export const DEFAULT_ACCESS: Access = 'admin'

const allowedRoles: Record<Exclude<Access, 'public'>, readonly TokenRole[]> = {
  authenticated: ['admin', 'viewer', 'chat'],
  chat: ['admin', 'chat'],
  viewer: ['admin', 'viewer'],
  admin: ['admin'],
}

export function roleAllows(role: TokenRole, access: Access): boolean {
  return access === 'public' || allowedRoles[access].includes(role)
}

export interface Principal {
  tokenId: string
  name: string
  role: TokenRole
  via: 'bearer' | 'session'
  /** Signed in with the session cookie: which session (its stored id hash) and until when (epoch ms). */
  session?: { id: string; expiresAt: number }
  /** The token's project (tokens of one project share their chat data), or null. */
  project: string | null
  /** When the token stops working (epoch ms), or null. */
  expiresAt: number | null
  limits: TokenLimits
  budget: TokenBudget | null
  /** The project's own limits and budget (the projects table), when it sets them: enforced besides the token's. */
  projectLimits?: TokenLimits
  projectBudget?: TokenBudget | null
}

/**
 * Whose chat data a principal works with: its project's when the token has one (several
 * tokens of one application share their data), else the token's own. Admin tokens may see
 * every scope; this is still the scope of what they create.
 */
export function scopeOf(principal: Pick<Principal, 'project' | 'tokenId'>): string {
  return principal.project !== null ? `project:${principal.project}` : `token:${principal.tokenId}`
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access
  }
  interface FastifyRequest {
    principal: Principal | null
  }
}
