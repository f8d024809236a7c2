import { compare, failureNote } from '../lib/ab.js'
import { alternateChatHits, CHAT_CONNECTIONS, chatServiceOptions } from '../lib/chat.js'
import { NO_AUTOPIPELINING_PRELOAD } from '../lib/eld.js'
import { row } from '../lib/report.js'
import { skipped, type Scenario } from '../lib/scenario.js'
import { serviceReads, startService } from '../lib/service.js'
import { settings } from '../lib/settings.js'

/** The switch asked of the integrator; until it exists a preload turns the option off. */
export const AUTOPIPELINING_SWITCH = 'REDIS_AUTO_PIPELINING'

/**
 * ioredis auto-pipelining batches the GET + PTTL of concurrent cache hits into one write per
 * event-loop turn. Same service, same workload at 100 connections, the option on and off.
 */
export const autopipelining: Scenario = {
  id: 'autopipelining',
  title: 'auto-pipelining',
  ours: `chat cache hits from Redis at ${CHAT_CONNECTIONS} connections, enableAutoPipelining on`,
  peer: 'the same with enableAutoPipelining off',
  estimateSeconds: 40,
  inSuite: true,
  async run({ loader }) {
    if (!settings.redisUrl) return skipped('needs REDIS_URL')
    const hasSwitch = serviceReads(AUTOPIPELINING_SWITCH)
    const on = await startService(chatServiceOptions('pipelining-on'))
    const off = await startService(
      hasSwitch
        ? chatServiceOptions('pipelining-off', { [AUTOPIPELINING_SWITCH]: 'false' })
        : { ...chatServiceOptions('pipelining-off'), preload: [NO_AUTOPIPELINING_PRELOAD] },
    )
    try {
      const rounds = await alternateChatHits(loader, ['on', on], ['off', off])
      const t = compare(rounds, (r) => r.okPerSec)
      return {
        rows: [row('throughput', 'req/s', t.ours, t.peer, t.ratio, { op: '>=', value: 1.25 }, failureNote(rounds))],
        notes: hasSwitch
          ? []
          : [
              `The service has no ${AUTOPIPELINING_SWITCH} switch yet: the "off" side runs with a preload that sets the ioredis option off (test/bench/preload/no-autopipelining.ts).`,
            ],
        rounds,
      }
    } finally {
      await Promise.all([on.stop(), off.stop()])
    }
  },
}
