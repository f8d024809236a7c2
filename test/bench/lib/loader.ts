import { join } from 'node:path'
import { startProc, type Proc } from './procs.js'
import { ROOT, settings } from './settings.js'
import type * as Load from './load-types.js'

type Reply = { id: number; result?: unknown; error?: string } | { ready: true }

/** The orchestrator's handle on the load-generator process. */
export class Loader {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()

  private constructor(readonly proc: Proc) {
    proc.child.on('message', (reply: Reply) => {
      if ('ready' in reply) return
      const waiter = this.pending.get(reply.id)
      if (!waiter) return
      this.pending.delete(reply.id)
      if (reply.error !== undefined) waiter.reject(new Error(`load generator: ${reply.error}`))
      else waiter.resolve(reply.result)
    })
    proc.child.on('exit', (code) => {
      for (const waiter of this.pending.values())
        waiter.reject(new Error(`load generator exited with ${code}:\n${proc.tail()}`))
      this.pending.clear()
    })
  }

  static async start(): Promise<Loader> {
    const proc = await startProc({
      name: 'load-generator',
      command: ['node', join(ROOT, 'test/bench/lib/load-worker.ts')],
      cpus: settings.loaderCpus,
      ipc: true,
    })
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: Reply) => {
        if ('ready' in m) {
          proc.child.off('message', onMessage)
          resolve()
        }
      }
      proc.child.on('message', onMessage)
      proc.child.once('exit', (code) => reject(new Error(`load generator exited with ${code}:\n${proc.tail()}`)))
    })
    return new Loader(proc)
  }

  private send<T>(request: Load.LoadRequest): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.proc.child.send({ id, request })
    })
  }

  http(load: Omit<Load.HttpLoad, 'op'>): Promise<Load.HttpResult> {
    return this.send({ op: 'http', ...load })
  }

  sequential(load: Omit<Load.SequentialLoad, 'op'>): Promise<Load.SequentialResult> {
    return this.send({ op: 'sequential', ...load })
  }

  wsOpen(url: string, clients: number, headers: Record<string, string>, marker: string): Promise<Load.WsOpenResult> {
    return this.send({ op: 'ws-open', url, clients, headers, marker })
  }

  wsMeasure(handle: number, durationMs: number): Promise<Load.WsMeasureResult> {
    return this.send({ op: 'ws-measure', handle, durationMs })
  }

  wsClose(handle: number): Promise<{ closed: number }> {
    return this.send({ op: 'ws-close', handle })
  }

  async stop(): Promise<void> {
    if (this.proc.child.connected) this.proc.child.disconnect()
    await this.proc.stop()
  }
}
