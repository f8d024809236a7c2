import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseInfo } from '../../server/cache/redis-admin.js'
import { simulatedReply } from '../../server/chat/providers/simulated.js'
import { cacheControl, samplingParams } from '../../server/chat/request-options.js'
import { sseData, streamError } from '../../server/chat/sse.js'
import { splitTokens } from '../../server/chat/tokens.js'

async function collect(parts: string[]): Promise<string[]> {
  const encoder = new TextEncoder()
  async function* body() {
    for (const part of parts) yield encoder.encode(part)
  }
  const out: string[] = []
  for await (const data of sseData(body())) out.push(data)
  return out
}

describe('splitTokens', () => {
  it('cuts text into pieces that join back to exactly the text', () => {
    fc.assert(fc.property(fc.string(), (text) => splitTokens(text).join('') === text))
    expect(splitTokens('  Hello  big\nworld ')).toEqual(['  ', 'Hello  ', 'big\n', 'world '])
  })
})

describe('sseData', () => {
  it('yields the data of each event, whatever the chunk boundaries', async () => {
    const stream = 'data: {"a":1}\n\n: comment\nevent: x\ndata: two\ndata: lines\n\r\ndata: [DONE]\n\n'
    const expected = ['{"a":1}', 'two\nlines', '[DONE]']
    expect(await collect([stream])).toEqual(expected)
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 6 }), async (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b)
        const parts = [0, ...points].map((start, i) => stream.slice(start, points[i] ?? stream.length))
        expect(await collect(parts)).toEqual(expected)
      }),
    )
  })

  it('keeps multi-byte characters split across chunks intact', async () => {
    const bytes = new TextEncoder().encode('data: héllo ✓\n\n')
    async function* body() {
      for (let i = 0; i < bytes.length; i++) yield bytes.slice(i, i + 1)
    }
    const out: string[] = []
    for await (const data of sseData(body())) out.push(data)
    expect(out).toEqual(['héllo ✓'])
  })

  it('yields a last event that has no blank line after it', async () => {
    expect(await collect(['data: end'])).toEqual(['end'])
  })
})

describe('simulatedReply', () => {
  it('is the same for the same normalized conversation and differs for another', () => {
    const a = simulatedReply([{ role: 'user', content: 'What is a cache?' }])
    expect(simulatedReply([{ role: 'user', content: '  What is   a cache? ' }])).toBe(a)
    expect(simulatedReply([{ role: 'user', content: 'What is a queue?' }])).not.toBe(a)
    expect(a).toContain('no language model')
  })
})

describe('request options', () => {
  it('merges the Cache-Control header with the body cache object', () => {
    expect(cacheControl(undefined, undefined)).toEqual({
      noCache: false,
      noStore: false,
      ttl: undefined,
      namespace: undefined,
    })
    expect(cacheControl('No-Cache, max-age=0', undefined)).toMatchObject({ noCache: true, noStore: false })
    expect(cacheControl('no-store', { ttl: 60, namespace: 'x' })).toEqual({
      noCache: false,
      noStore: true,
      ttl: 60,
      namespace: 'x',
    })
    expect(cacheControl(undefined, { 'no-cache': true, 'no-store': true })).toMatchObject({
      noCache: true,
      noStore: true,
    })
  })

  it('reads max_completion_tokens as max_tokens and stop as a list', () => {
    expect(samplingParams({ max_completion_tokens: 5, max_tokens: 9, stop: 'x' })).toEqual({
      max_tokens: 5,
      stop: ['x'],
    })
    expect(samplingParams({ stop: null, temperature: 0 })).toEqual({ temperature: 0 })
    expect(samplingParams({ stop: [] })).toEqual({})
  })
})

describe('parseInfo', () => {
  it('reads INFO fields and skips section headers', () => {
    expect(parseInfo('# Stats\r\nkeyspace_hits:5\r\nused_memory_human:1.2M\r\n')).toEqual({
      keyspace_hits: '5',
      used_memory_human: '1.2M',
    })
  })
})

describe('streamError', () => {
  const quiet = () => {
    const logged: string[] = []
    return { logged, log: { error: (_: object, msg: string) => logged.push(msg) } }
  }

  it('tells a streaming client the database is unavailable, as a 503 would, without logging an error', () => {
    const { logged, log } = quiet()
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
    expect(streamError(refused, log)).toEqual({
      code: 'database_unavailable',
      message: 'The database is unavailable; retry shortly',
    })
    const shuttingDown = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
      severity: 'FATAL',
    })
    expect(streamError(shuttingDown, log).code).toBe('database_unavailable')
    expect(logged).toEqual([])
  })

  it('hides anything unexpected behind internal_error and logs it', () => {
    const { logged, log } = quiet()
    expect(streamError(new TypeError('x is undefined'), log)).toEqual({
      code: 'internal_error',
      message: 'Internal server error; the details are in the server log',
    })
    expect(logged).toEqual(['streamed completion failed'])
  })
})
