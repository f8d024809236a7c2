import { randomUUID } from 'node:crypto'
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { TokenRevocations } from './revocations.js'
import { generateToken, type TokenRepository } from './token-repository.js'

export const ADMIN_TOKEN_NAME = 'ADMIN_TOKEN'
/** Where the bootstrap admin token goes, in DATA_DIR, when stdout is not a terminal. */
export const ADMIN_TOKEN_FILE = 'admin-token'

/** Where the bootstrap token may be shown: process.stdout, or what a test gives instead. */
export interface Terminal {
  isTTY?: boolean
  write(text: string): unknown
}

/**
 * ADMIN_TOKEN is the active token named ADMIN_TOKEN; the id of its row, or undefined when that
 * row is revoked: then it stays revoked (it may have leaked), the start says so at error level
 * and goes on without it. Refusing to start would take the chat API down over an admin
 * credential; starting without it loses nothing that was not already revoked.
 */
export async function adoptAdminToken(
  app: FastifyInstance,
  tokens: TokenRepository,
  adminToken: string,
  revocations: TokenRevocations | undefined,
): Promise<string | undefined> {
  const result = await tokens.ensureNamedToken(ADMIN_TOKEN_NAME, 'admin', adminToken)
  if (result.status === 'revoked') {
    app.log.error(
      { revokedAt: result.revokedAt.toISOString() },
      'ADMIN_TOKEN is revoked in the database (by hand, or rotated out by a later ADMIN_TOKEN) and is not reactivated: set ADMIN_TOKEN to a new value and restart. Starting without it; other admin tokens still work',
    )
    return undefined
  }
  app.log.info('admin token taken from ADMIN_TOKEN')
  // A new ADMIN_TOKEN rotated the old one out: instances still running stop accepting it now.
  if (result.revoked > 0) await revocations?.announce(null)
  return result.id
}

/**
 * Without ADMIN_TOKEN, on a database with no active token: one admin token, shown once and
 * never logged. On a terminal it is printed there; otherwise (a container, a service manager,
 * a pipe: where output ends up in log storage) it is written to DATA_DIR/admin-token with mode
 * 0600 and the log says only where.
 */
export async function bootstrapAdminToken(
  app: FastifyInstance,
  tokens: TokenRepository,
  terminal: Terminal,
): Promise<void> {
  if ((await tokens.countActive()) > 0) return
  // Several instances may start at once on a fresh database: only the one that claims the
  // bootstrap creates (and shows) the token.
  if (!(await tokens.claimBootstrap())) return
  const secret = generateToken()
  const { publicUrl, dataDir } = app.config
  if (terminal.isTTY) {
    await tokens.create({ name: 'bootstrap admin', role: 'admin', createdBy: 'bootstrap', token: secret })
    terminal.write(
      `\n  Admin token (shown once, store it now):\n\n    ${secret}\n\n  Sign in to the dashboard at ${publicUrl} with it, or send it to the API as "Authorization: Bearer <token>".\n\n`,
    )
    app.log.warn('bootstrap admin token created and printed to the terminal (shown once, not logged)')
    return
  }
  const file = join(dataDir, ADMIN_TOKEN_FILE)
  try {
    await writePrivateFile(file, `${secret}\n`)
  } catch (err) {
    app.log.error(
      { err, file },
      `could not write the bootstrap admin token to ${file}, so none was created: set ADMIN_TOKEN and restart`,
    )
    return
  }
  await tokens.create({ name: 'bootstrap admin', role: 'admin', createdBy: 'bootstrap', token: secret })
  app.log.warn(
    { file },
    `bootstrap admin token created and written to ${file} (mode 0600, shown nowhere else): store it, then delete the file. Sign in at ${publicUrl} with it, or send "Authorization: Bearer <token>"`,
  )
}

/** Written whole or not at all, readable by the owner only whatever the umask, replacing an old one. */
async function writePrivateFile(file: string, content: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 })
  const partial = `${file}.${randomUUID()}.partial`
  try {
    await writeFile(partial, content, { mode: 0o600, flag: 'wx' })
    await chmod(partial, 0o600)
    await rename(partial, file)
  } catch (err) {
    await rm(partial, { force: true })
    throw err
  }
}
