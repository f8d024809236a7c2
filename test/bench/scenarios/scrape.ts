import { alternate, compare, describeHttp, failureNote, httpSide } from '../lib/ab.js'
import { chatLoad, startChatService, warmChat } from '../lib/chat.js'
import { row } from '../lib/report.js'
import { skipped, type Scenario } from '../lib/scenario.js'
import { settings } from '../lib/settings.js'

/** What a Prometheus scraping once a second takes from chat throughput: one service, scraper on and off. */
export const scrape: Scenario = {
  id: 'scrape',
  title: 'scrape cost',
  ours: 'chat cache hits while GET /metrics is scraped at 1 Hz',
  peer: 'the same service, not scraped',
  estimateSeconds: 35,
  inSuite: true,
  async run({ loader }) {
    if (!settings.redisUrl) return skipped('needs REDIS_URL')
    const service = await startChatService('scrape')
    try {
      await warmChat(service)
      const load = chatLoad(service)
      const rounds = await alternate(
        httpSide(loader, 'scraped', [], () => ({
          ...load,
          scrape: { url: `${service.url}/metrics`, intervalMs: 1000 },
        })),
        httpSide(loader, 'not scraped', [], () => load),
        { describe: (r) => `${describeHttp(r)}${r.scrapes ? `, ${r.scrapes} scrapes` : ''}` },
      )
      const t = compare(rounds, (r) => r.okPerSec)
      const scrapeErrors = rounds.reduce((n, r) => n + r.ours.scrapeErrors, 0)
      return {
        rows: [row('throughput', 'req/s', t.ours, t.peer, t.ratio, { op: '>=', value: 0.95 }, failureNote(rounds))],
        notes: scrapeErrors ? [`${scrapeErrors} scrapes failed`] : [],
        rounds,
      }
    } finally {
      await service.stop()
    }
  },
}
