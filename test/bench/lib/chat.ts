import { Redis } from 'ioredis'
import { alternate, describeHttp, httpSide } from './ab.js'
import type { HttpLoad } from './load-types.js'
import type { Loader } from './loader.js'
import type { Service, ServiceOptions } from './service.js'
import { startService } from './service.js'

/**
 * The chat cache-hit workload shared by several scenarios: PROMPTS distinct prompts, each
 * answered once (a miss that fills the cache), then requested in turn by every connection
 * with one shared counter, so that 100 concurrent requests ask for 100 different entries.
 */
export const PROMPTS = 200
export const CHAT_CONNECTIONS = 100

export const promptText = (i: number) => `benchmark prompt number ${i}: what does the cache hold?`
export const chatBody = (i: number) => JSON.stringify({ messages: [{ role: 'user', content: promptText(i) }] })
export const CHAT_BODIES = Array.from({ length: PROMPTS }, (_, i) => chatBody(i))

/**
 * The service for chat scenarios. L1 is held to its minimum size (1 KiB, two or three
 * entries), so with PROMPTS prompts in rotation every hit is answered from Redis, as the
 * scenario asks; the simulated provider answers at once, so warming is quick.
 */
export function chatServiceOptions(name: string, env: Record<string, string> = {}): ServiceOptions {
  return {
    name,
    env: {
      CHAT_PROVIDER: 'simulated',
      SIM_FIRST_TOKEN_MS: '0',
      SIM_TOKENS_PER_SECOND: '100000',
      CACHE_L1_MAX_BYTES: '1024',
      ...env,
    },
  }
}

export async function startChatService(name: string, env: Record<string, string> = {}): Promise<Service> {
  return startService(chatServiceOptions(name, env))
}

/** Answers every prompt once (misses), checks that the next answer is a hit, returns the bodies. */
export async function warmChat(service: Service, concurrency = 20): Promise<string[]> {
  const bodies: string[] = new Array(PROMPTS)
  let next = 0
  const post = async (i: number) => {
    const response = await fetch(`${service.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...service.headers, 'content-type': 'application/json' },
      body: chatBody(i),
    })
    const text = await response.text()
    if (!response.ok) throw new Error(`warming the chat cache: ${response.status} ${text.slice(0, 300)}`)
    return { text, cache: response.headers.get('x-cache') }
  }
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < PROMPTS) {
        const i = next++
        bodies[i] = (await post(i)).text
      }
    }),
  )
  const check = await post(PROMPTS - 1)
  if (check.cache !== 'HIT') throw new Error(`the chat cache did not answer a warmed prompt (x-cache: ${check.cache})`)
  return bodies
}

export function chatLoad(service: Service, extra: Partial<HttpLoad> = {}): Omit<HttpLoad, 'op' | 'durationSec'> {
  return {
    url: `${service.url}/v1/chat/completions`,
    method: 'POST',
    headers: { ...service.headers, 'content-type': 'application/json' },
    bodies: CHAT_BODIES,
    connections: CHAT_CONNECTIONS,
    ...extra,
  }
}

/** Both services warmed, then the cache-hit load on each in alternating rounds (a is "ours"). */
export async function alternateChatHits(loader: Loader, a: [string, Service], b: [string, Service]) {
  await Promise.all([warmChat(a[1]), warmChat(b[1])])
  return alternate(
    httpSide(loader, a[0], [a[1].proc], () => chatLoad(a[1])),
    httpSide(loader, b[0], [b[1].proc], () => chatLoad(b[1])),
    { describe: describeHttp },
  )
}

/** Stores our answers under `${prefix}peer:<prompt>` for the bare ioredis peer to return. */
export async function seedPeerAnswers(redisUrl: string, prefix: string, answers: string[]): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true })
  await redis.connect()
  try {
    const pipeline = redis.pipeline()
    answers.forEach((answer, i) => pipeline.set(`${prefix}peer:${promptText(i)}`, answer, 'EX', 3600))
    await pipeline.exec()
  } finally {
    redis.disconnect()
  }
}
