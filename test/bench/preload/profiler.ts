/**
 * Loaded with `--import` when BENCH_PROFILE=1: a V8 CPU profile of exactly the window the
 * bench asks for (over the IPC channel), written where it says.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'

const session = new Session()
session.connect()

process.on('message', (message: { bench?: string; file?: string }) => {
  if (message?.bench === 'profile-start') {
    void (async () => {
      await session.post('Profiler.enable')
      await session.post('Profiler.setSamplingInterval', { interval: 200 })
      await session.post('Profiler.start')
      process.send?.({ bench: 'profile-started' })
    })()
  } else if (message?.bench === 'profile-stop' && message.file) {
    void (async () => {
      const { profile } = await session.post('Profiler.stop')
      writeFileSync(message.file!, JSON.stringify(profile))
      process.send?.({ bench: 'profile-written' })
    })()
  }
})
process.channel?.unref()
