import { Writable } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import { pino } from 'pino'
import { describe, expect, it, vi } from 'vitest'
import {
  PartialWriteError,
  PendingMap,
  WriteBehind,
  type WriteBehindOptions,
} from '../../server/infra/db/write-behind.js'

/** A real pino logger whose lines the test reads back. */
function capturingLog() {
  const lines: Array<{ level: number; msg: string; pending?: number; err?: { message: string } }> = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line))
      done()
    },
  })
  return { log: pino({ level: 'info' }, stream) as unknown as FastifyBaseLogger, lines }
}

/** A sink that records every batch, failing while `failing` is set. */
function sink() {
  const batches: number[][] = []
  const state = { failing: false, batches, written: () => batches.flat() }
  const write = async (batch: number[]) => {
    await new Promise((resolve) => setImmediate(resolve))
    if (state.failing) throw new Error('the store is down')
    batches.push([...batch])
  }
  return { ...state, write, set: (failing: boolean) => (state.failing = failing) }
}

function buffer(options: Partial<WriteBehindOptions<number>> & Pick<WriteBehindOptions<number>, 'write'>) {
  const { log, lines } = capturingLog()
  const b = new WriteBehind<number>(
    { intervalMs: 600_000, maxItems: 1_000, closeTimeoutMs: 1_000, what: 'numbers', ...options },
    log,
  )
  return { b, lines }
}

describe('WriteBehind', () => {
  it('writes what was added once the interval has passed, in one batch', async () => {
    const s = sink()
    const { b } = buffer({ write: s.write, intervalMs: 20 })
    for (let i = 0; i < 3; i++) b.add(i)
    expect(b.pending).toBe(3)
    expect(s.batches).toEqual([])
    await vi.waitFor(() => expect(s.batches).toEqual([[0, 1, 2]]), { timeout: 5_000, interval: 5 })
    expect(b.pending).toBe(0)
  })

  it('writes at once when maxItems wait, without the interval', async () => {
    const s = sink()
    const { b } = buffer({ write: s.write, maxItems: 4 })
    for (let i = 0; i < 4; i++) b.add(i)
    await vi.waitFor(() => expect(s.batches).toEqual([[0, 1, 2, 3]]), { timeout: 5_000, interval: 5 })
  })

  it('writes what is left on close, and an item added after close at once', async () => {
    const s = sink()
    const { b } = buffer({ write: s.write })
    b.add(1)
    b.add(2)
    await b.close()
    expect(s.batches).toEqual([[1, 2]])
    b.add(3)
    await vi.waitFor(() => expect(s.written()).toEqual([1, 2, 3]), { timeout: 5_000, interval: 5 })
  })

  it('logs a failed background write and keeps its items, ahead of newer ones, for the next write', async () => {
    const s = sink()
    s.set(true)
    const { b, lines } = buffer({ write: s.write, maxItems: 2 })
    b.add(1)
    b.add(2)
    await vi.waitFor(() => expect(lines.map((l) => l.msg)).toContain('could not write numbers; will retry'), {
      timeout: 5_000,
      interval: 5,
    })
    const warning = lines.find((l) => l.msg === 'could not write numbers; will retry')!
    expect(warning.err?.message).toBe('the store is down')
    expect(b.pending).toBe(2)
    await expect(b.flush()).rejects.toThrow('the store is down')
    s.set(false)
    b.add(3)
    await b.flush()
    expect(s.written()).toEqual([1, 2, 3])
    expect(b.pending).toBe(0)
  })

  it('puts back only the unwritten part of a partial write', async () => {
    let calls = 0
    const batches: number[][] = []
    const { b } = buffer({
      write: async (batch) => {
        if (calls++ === 0) {
          batches.push(batch.slice(0, 1))
          throw new PartialWriteError(new Error('second half failed'), batch.slice(1))
        }
        batches.push(batch)
      },
    })
    for (let i = 0; i < 3; i++) b.add(i)
    await expect(b.flush()).rejects.toThrow('second half failed')
    expect(b.pending).toBe(2)
    await b.flush()
    expect(batches).toEqual([[0], [1, 2]])
  })

  it('gives the items up after closeTimeoutMs of failing writes, logging and counting them', async () => {
    const s = sink()
    s.set(true)
    const { b, lines } = buffer({ write: s.write, closeTimeoutMs: 300 })
    for (let i = 0; i < 5; i++) b.add(i)
    await b.close()
    expect(b.pending).toBe(0)
    expect(b.dropped).toBe(5)
    const error = lines.find((l) => l.level === 50)
    expect(error?.msg).toBe('could not write the buffered numbers before shutting down; they are lost')
    expect(error?.pending).toBe(5)
  })

  it('holds at most maxPending items while writes fail, dropping the oldest', async () => {
    const s = sink()
    s.set(true)
    const { b } = buffer({ write: s.write, maxPending: 3 })
    for (let i = 0; i < 5; i++) b.add(i)
    expect(b.pending).toBe(3)
    expect(b.dropped).toBe(2)
    s.set(false)
    await b.flush()
    expect(s.written()).toEqual([2, 3, 4])
  })

  it('merges items of one key with a PendingMap, also when a failed batch comes back', async () => {
    type Count = { key: string; n: number }
    const batches: Count[][] = []
    let fail = true
    const { log } = capturingLog()
    const b = new WriteBehind<Count>(
      {
        intervalMs: 600_000,
        maxItems: 100,
        closeTimeoutMs: 1_000,
        what: 'counts',
        pending: new PendingMap(
          (c) => c.key,
          (into, c) => (into.n += c.n),
        ),
        write: async (batch) => {
          if (fail) throw new Error('down')
          batches.push(batch.map((c) => ({ ...c })))
        },
      },
      log,
    )
    b.add({ key: 'a', n: 1 })
    b.add({ key: 'a', n: 2 })
    b.add({ key: 'b', n: 5 })
    expect(b.pending).toBe(2)
    await expect(b.flush()).rejects.toThrow('down')
    b.add({ key: 'a', n: 10 })
    fail = false
    await b.flush()
    expect(batches).toEqual([
      [
        { key: 'a', n: 13 },
        { key: 'b', n: 5 },
      ],
    ])
  })
})
