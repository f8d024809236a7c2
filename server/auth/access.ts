import type { TokenRole } from '../db/schema.js'

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
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access
  }
  interface FastifyRequest {
    principal: Principal | null
  }
}
