import { join } from 'node:path'
import { freePort, startProc, type Proc } from './procs.js'
import { ROOT } from './settings.js'

export const PEER_SCRIPT = join(ROOT, 'test/bench/servers/peer.ts')

/** Starts one variant of servers/peer.ts on a free port and waits until it answers `readyPath`. */
export async function startPeer(
  variant: string,
  env: Record<string, string> = {},
  readyPath = '/hello',
): Promise<Proc> {
  const port = await freePort()
  return startProc({
    name: `peer-${variant}`,
    command: ['node', PEER_SCRIPT, variant],
    env: { PORT: String(port), ...env },
    port,
    readyPath,
  })
}

/** fastify's own benchmark load: 100 connections, 10 pipelined requests each. */
export const HELLO_LOAD = { connections: 100, pipelining: 10 }
