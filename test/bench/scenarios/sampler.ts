import { alternate, compare } from '../lib/ab.js'
import { chatLoad, chatServiceOptions, warmChat } from '../lib/chat.js'
import { ELD_PRELOAD, readEventLoopDelay, resetEventLoopDelay, type EventLoopDelay } from '../lib/eld.js'
import type { HttpResult } from '../lib/load-types.js'
import type { Loader } from '../lib/loader.js'
import { row } from '../lib/report.js'
import type { Scenario } from '../lib/scenario.js'
import { startService, type Service } from '../lib/service.js'

/** A steady, moderate load: the sampler competes with request work, the server is not saturated. */
const RATE = 200
const SECONDS = 3

type Measured = EventLoopDelay & { http: HttpResult }

function eldSide(loader: Loader, label: string, service: Service) {
  return {
    label,
    procs: [service.proc],
    async measure(round: number): Promise<Measured> {
      const load = { ...chatLoad(service), connections: 10, overallRate: RATE }
      if (round === 0) await loader.http({ ...load, durationSec: 2 })
      await resetEventLoopDelay(service.proc)
      const http = await loader.http({ ...load, durationSec: SECONDS })
      return { ...(await readEventLoopDelay(service.proc)), http }
    },
  }
}

/**
 * Event-loop delay (1 ms resolution, in the service process) under a steady chat load, with
 * the sampler ticking every second and with it ticking once a minute (SAMPLE_INTERVAL_MS's
 * maximum: the closest the service has to "off"; a round rarely contains that tick).
 */
export const sampler: Scenario = {
  id: 'sampler',
  title: 'sampler overhead',
  ours: `event-loop delay p99, SAMPLE_INTERVAL_MS=1000, ${RATE} chat req/s`,
  peer: 'the same with SAMPLE_INTERVAL_MS=60000',
  estimateSeconds: 70,
  inSuite: true,
  async run({ loader }) {
    const on = await startService({
      ...chatServiceOptions('sampler-1hz', { SAMPLE_INTERVAL_MS: '1000' }),
      preload: [ELD_PRELOAD],
      ipc: true,
    })
    const off = await startService({
      ...chatServiceOptions('sampler-off', { SAMPLE_INTERVAL_MS: '60000' }),
      preload: [ELD_PRELOAD],
      ipc: true,
    })
    try {
      await Promise.all([warmChat(on), warmChat(off)])
      const rounds = await alternate(eldSide(loader, '1 Hz', on), eldSide(loader, 'off', off), {
        describe: (m) =>
          `p99 ${m.p99.toFixed(2)} ms, max ${m.max.toFixed(1)} ms (${Math.round(m.http.okPerSec)} req/s)`,
      })
      const p99 = compare(rounds, (m) => m.p99)
      const max = compare(rounds, (m) => m.max)
      return {
        rows: [
          row('event-loop delay p99', 'ms', p99.ours, p99.peer, p99.ratio, { op: '<=', value: 1.1 }),
          row('event-loop delay max', 'ms', max.ours, max.peer, max.ratio, null),
        ],
        notes: [],
        rounds,
      }
    } finally {
      await Promise.all([on.stop(), off.stop()])
    }
  },
}
