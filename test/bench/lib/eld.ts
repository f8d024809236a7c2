import { join } from 'node:path'
import type { Proc } from './procs.js'
import { ROOT } from './settings.js'

export const ELD_PRELOAD = join(ROOT, 'test/bench/preload/event-loop-delay.ts')
export const NO_AUTOPIPELINING_PRELOAD = join(ROOT, 'test/bench/preload/no-autopipelining.ts')

export interface EventLoopDelay {
  p50: number
  p99: number
  max: number
  mean: number
  count: number
}

function ask<T>(proc: Proc, bench: string, answer: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.child.off('message', onMessage)
      reject(new Error(`${proc.name} did not answer ${bench}`))
    }, 5_000)
    const onMessage = (m: { bench?: string }) => {
      if (m?.bench !== answer) return
      clearTimeout(timer)
      proc.child.off('message', onMessage)
      resolve(m as T)
    }
    proc.child.on('message', onMessage)
    proc.child.send({ bench })
  })
}

export const resetEventLoopDelay = (proc: Proc) => ask<unknown>(proc, 'eld-reset', 'eld-reset')
export const readEventLoopDelay = (proc: Proc) => ask<EventLoopDelay>(proc, 'eld-read', 'eld')
