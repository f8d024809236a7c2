import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { connectDatabase, type DatabaseHandle } from './connect.js'
import type { Database } from '../../db/schema.js'

declare module 'fastify' {
  interface FastifyInstance {
    database: DatabaseHandle
    db: Kysely<Database>
  }
}

export interface DatabasePluginOptions {
  pgliteDataDir?: string
}

/** Connects (real Postgres or embedded PGlite), migrates to latest, closes on shutdown. */
export default fp<DatabasePluginOptions>(
  async function databasePlugin(app: FastifyInstance, options) {
    const handle = await connectDatabase(app.config, {
      log: app.log,
      pgliteDataDir: options.pgliteDataDir,
    })
    app.log.info(
      { kind: handle.kind, schema: handle.schema },
      handle.kind === 'pglite' ? 'using embedded PGlite' : 'using PostgreSQL',
    )
    app.decorate('database', handle)
    app.decorate('db', handle.db)
    app.addHook('onClose', async () => handle.close())
  },
  { name: 'database' },
)
