import type { PrincipalDto as Principal } from '../../../server/contract/index.js'
import { ApiError, type Api } from './api.js'

export type SessionStatus = 'loading' | 'signed-in' | 'signed-out'

/** Who is signed in (from `GET /api/auth/me`), and signing in and out. */
export class Session {
  status = $state<SessionStatus>('loading')
  principal = $state<Principal | null>(null)
  /** Why the user was sent back to the sign-in page, when it was not their choice. */
  notice = $state<string | null>(null)

  constructor(private readonly api: Api) {}

  get canAct(): boolean {
    return this.principal?.role === 'admin'
  }

  /** Why an action button is disabled for this user; null when they may act. */
  get actionBlockedReason(): string | null {
    if (this.canAct) return null
    return `Your token has the ${this.principal?.role ?? 'viewer'} role: actions need an admin token`
  }

  async load(): Promise<void> {
    try {
      this.principal = await this.api.get<Principal>('/api/auth/me')
      this.status = 'signed-in'
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        this.signedOut(null)
        return
      }
      throw err
    }
  }

  async signIn(token: string): Promise<void> {
    const { principal } = await this.api.post<{ principal: Principal }>('/api/auth/session', { token })
    this.principal = principal
    this.notice = null
    this.status = 'signed-in'
  }

  async signOut(): Promise<void> {
    await this.api.delete('/api/auth/session').catch(() => {})
    this.signedOut(null)
  }

  /** The server stopped accepting our session (expired, revoked). */
  expired(reason = 'Your session ended; sign in again.'): void {
    if (this.status === 'signed-in') this.signedOut(reason)
  }

  private signedOut(notice: string | null): void {
    this.principal = null
    this.notice = notice
    this.status = 'signed-out'
  }
}
