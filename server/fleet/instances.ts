import type { Redis } from 'ioredis'

export interface InstanceInfo {
  id: string
  version: string
  host: string
  pid: number
  startedAt: string
  lastHeartbeat: string
}

/**
 * Each instance announces itself under `<prefix>instances:<id>` with a TTL of three
 * heartbeats; an instance that stops heartbeating disappears from the list on its own.
 */
export class InstanceRegistry {
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly redis: Redis | null,
    private readonly prefix: string,
    private readonly self: Omit<InstanceInfo, 'lastHeartbeat'>,
    private readonly heartbeatMs: number,
  ) {}

  private key(id: string): string {
    return `${this.prefix}instances:${id}`
  }

  start(now: () => number = Date.now): void {
    if (!this.redis || this.timer) return
    const beat = () => void this.heartbeat(now()).catch(() => {})
    beat()
    this.timer = setInterval(beat, this.heartbeatMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    if (this.redis?.status === 'ready') await this.redis.del(this.key(this.self.id)).catch(() => {})
  }

  async heartbeat(now: number): Promise<void> {
    if (!this.redis) return
    const info: InstanceInfo = { ...this.self, lastHeartbeat: new Date(now).toISOString() }
    await this.redis.set(this.key(this.self.id), JSON.stringify(info), 'PX', this.heartbeatMs * 3)
  }

  /** Every live instance; just this one without Redis or while Redis is unreachable. */
  async list(now: number): Promise<InstanceInfo[]> {
    const selfNow: InstanceInfo = { ...this.self, lastHeartbeat: new Date(now).toISOString() }
    if (!this.redis || this.redis.status !== 'ready') return [selfNow]
    const keys: string[] = []
    let cursor = '0'
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${this.key('')}*`, 'COUNT', 200)
      cursor = next
      keys.push(...batch)
    } while (cursor !== '0')
    const values = keys.length ? await this.redis.mget(...keys) : []
    const instances = values.flatMap((v) => (v ? [JSON.parse(v) as InstanceInfo] : []))
    if (!instances.some((i) => i.id === this.self.id)) instances.push(selfNow)
    return instances.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id))
  }
}
