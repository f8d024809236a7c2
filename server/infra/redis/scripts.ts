import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'

export interface LuaScript {
  lua: string
  sha: string
}

export function luaScript(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') }
}

/**
 * Runs Lua scripts on one Redis connection: EVAL the first time (a NOSCRIPT round trip there
 * would let a later command overtake it: a settlement must reach Redis before the next check of
 * the same caller), EVALSHA after, so the script text is not sent and hashed on every call;
 * EVAL again should Redis have lost its scripts (a restart, SCRIPT FLUSH).
 */
export class ScriptRunner {
  /** Scripts this instance has sent whole once (Redis keeps them then); later calls send their SHA only. */
  private readonly sent = new Set<string>()

  constructor(private readonly redis: Redis) {}

  async run(script: LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> {
    if (!this.sent.has(script.sha)) {
      this.sent.add(script.sha)
      return this.redis.eval(script.lua, keys.length, ...keys, ...args)
    }
    try {
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args)
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err
      return this.redis.eval(script.lua, keys.length, ...keys, ...args)
    }
  }
}
