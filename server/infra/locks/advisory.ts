import { sql, type Kysely } from 'kysely'
import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../../db/schema.js'
import type { Lease, LockStore } from './lease.js'

/**
 * Postgres session-level advisory locks, each held on a pooled connection of its own for as
 * long as the lease lives. If the process dies, Postgres ends the session and frees the lock:
 * there is nothing to expire or renew.
 */
export class AdvisoryLockStore implements LockStore {
  readonly kind = 'postgres'

  constructor(
    private readonly db: Kysely<Database>,
    /** Keeps apps on different schemas (or prefixes) of one database apart. */
    private readonly namespace: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  async tryAcquire(name: string): Promise<Lease | null> {
    const key = `${this.namespace}jobs:lock:${name}`
    const lost = new AbortController()
    let answer!: (lease: Lease | null) => void
    const acquired = new Promise<Lease | null>((resolve) => (answer = resolve))
    let requestRelease!: () => void
    const releaseRequested = new Promise<void>((resolve) => (requestRelease = resolve))

    // The connection stays checked out, holding the lock, until release() is called.
    const session: Promise<void> = this.db.connection().execute(async (conn) => {
      const { rows } = await sql<{
        locked: boolean
      }>`select pg_try_advisory_lock(hashtextextended(${key}, 0)) as locked`.execute(conn)
      if (!rows[0]?.locked) return answer(null)
      answer({
        lost: lost.signal,
        release: async () => {
          requestRelease()
          await session.catch(() => undefined)
        },
      })
      await releaseRequested
      await sql`select pg_advisory_unlock(hashtextextended(${key}, 0))`.execute(conn)
    })
    session.catch((err: unknown) => {
      // A broken connection takes its session, and so the lock, with it.
      lost.abort(err)
      this.log.warn({ err, lock: name }, 'advisory lock connection failed')
    })
    // Before the lock is answered, a failure (no connection) is the caller's error.
    return Promise.race([acquired, session.then(() => acquired)])
  }
}
