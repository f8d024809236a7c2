/**
 * Loaded with `--import` into a service the bench asks about its event loop: a 1 ms
 * resolution delay histogram, read and reset over the IPC channel.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'

const histogram = monitorEventLoopDelay({ resolution: 1 })
histogram.enable()

process.on('message', (message: { bench?: string }) => {
  if (message?.bench === 'eld-reset') {
    histogram.reset()
    process.send?.({ bench: 'eld-reset' })
  } else if (message?.bench === 'eld-read') {
    const ms = (ns: number) => ns / 1e6
    process.send?.({
      bench: 'eld',
      p50: ms(histogram.percentile(50)),
      p99: ms(histogram.percentile(99)),
      max: ms(histogram.max),
      mean: ms(histogram.mean),
      count: histogram.count,
    })
  }
})
// The channel must not keep the service alive on its own.
process.channel?.unref()
