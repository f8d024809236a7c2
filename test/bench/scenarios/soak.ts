import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { log } from '../lib/ab.js'
import { CHAT_BODIES, chatLoad, startChatService, warmChat } from '../lib/chat.js'
import { SNAPSHOT_MARKER, wsUrl } from '../lib/live.js'
import { row } from '../lib/report.js'
import { skipped, type Scenario } from '../lib/scenario.js'
import { settings } from '../lib/settings.js'
import { median } from '../lib/stats.js'
import { WebhookSink } from '../lib/webhook-sink.js'

/** Share of the soak's requests that miss the cache (a fresh prompt each: provider, cache write, L1 churn). */
const MISS_SHARE = 0.1
const DASHBOARDS = 10
/** Often enough that each minute-long window holds the troughs right after collections. */
const RSS_EVERY_MS = 1_000

/** Error and fatal lines in a service log, read line by line: ten minutes of request logs run to a gigabyte. */
async function countErrorLines(file: string): Promise<number> {
  let count = 0
  for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    if (/"level":(50|60)/.test(line)) count++
  }
  return count
}

/**
 * Issue 9's soak: SOAK_MINUTES (default 10) at half the measured maximum chat throughput,
 * with everything a production instance runs: the 1 Hz sampler, the default alert rules
 * delivering to a webhook, the scheduled jobs (cache-warm every minute, vacuum-analyze every
 * two), a Prometheus-style scrape each second and a few live dashboards. Reports failed
 * requests (goal 0) and RSS growth from the end of the warm-up to the end (goal < 10 %),
 * judged on the RSS floor after collections (see below).
 */
export const soak: Scenario = {
  id: 'soak',
  title: 'soak',
  ours: `the whole service for ${settings.soakMinutes} min at half its measured maximum chat throughput, sampling, alerting and jobs on`,
  peer: 'the target rate',
  estimateSeconds: settings.soakMinutes * 60 + 45,
  inSuite: false,
  async run({ loader }) {
    if (!settings.redisUrl || !settings.databaseUrl) return skipped('needs DATABASE_URL and REDIS_URL')
    const sink = await WebhookSink.start()
    const service = await startChatService('soak', {
      // The product's L1, not the 1 KiB the hit scenarios use.
      CACHE_L1_MAX_BYTES: String(64 * 1024 * 1024),
      SAMPLE_INTERVAL_MS: '1000',
      JOBS_ENABLED: 'true',
      JOB_CACHE_WARM_SCHEDULE: '0 * * * * *',
      JOB_VACUUM_ANALYZE_SCHEDULE: '30 */2 * * * *',
      ALERT_WEBHOOK_URL: `${sink.url}/soak`,
    })
    let dashboards: { handle: number } | null = null
    try {
      await warmChat(service)
      const hits = chatLoad(service)
      log('  measuring the maximum chat throughput (100 connections, 5 s)')
      await loader.http({ ...hits, durationSec: 3 })
      const max = await loader.http({ ...hits, durationSec: 5 })
      const target = Math.max(10, Math.round(max.okPerSec / 2))
      const hitRate = Math.round(target * (1 - MISS_SHARE))
      const missRate = Math.max(1, target - hitRate)
      const seconds = Math.round(settings.soakMinutes * 60)
      log(
        `  maximum ${Math.round(max.okPerSec)} req/s; soaking at ${target} req/s (${missRate} misses/s) for ${seconds} s`,
      )

      dashboards = await loader.wsOpen(wsUrl(service.url), DASHBOARDS, service.headers, SNAPSHOT_MARKER)
      const samples: Array<{ t: number; rss: number }> = []
      const started = Date.now()
      const sample = () => samples.push({ t: (Date.now() - started) / 1000, rss: service.proc.rssBytes() })
      sample()
      let lastReport = Date.now()
      const timer = setInterval(() => {
        sample()
        if (Date.now() - lastReport >= 60_000) {
          lastReport = Date.now()
          log(
            `    ${Math.round((Date.now() - started) / 1000)} s: RSS ${(samples.at(-1)!.rss / 2 ** 20).toFixed(0)} MiB`,
          )
        }
      }, RSS_EVERY_MS)
      const missBody = JSON.stringify({ messages: [{ role: 'user', content: 'soak miss [<id>]' }] })
      const [hitResult, missResult] = await Promise.all([
        loader.http({
          ...hits,
          connections: 20,
          overallRate: hitRate,
          durationSec: seconds,
          scrape: { url: `${service.url}/metrics`, intervalMs: 1000 },
        }),
        loader.http({
          ...chatLoad(service),
          bodies: undefined,
          body: missBody,
          idReplacement: true,
          connections: 5,
          overallRate: missRate,
          durationSec: seconds,
        }),
      ])
      clearInterval(timer)
      sample()

      const failed = (r: typeof hitResult) => r.non2xx + r.errors + r.timeouts
      const errors = failed(hitResult) + failed(missResult) + hitResult.scrapeErrors
      // Under load RSS saws by a quarter or more between collections (the heap grows, V8
      // collects, returns pages), with a period of a minute or two, so a median of one window
      // is mostly phase. What a leak moves is the floor: the lowest reading of a window, right
      // after a collection. Growth is judged on that floor, end of warm-up (10-20 %) against
      // the last tenth; the medians and the peak are shown beside it.
      const window = (from: number, to: number) =>
        samples.filter((s) => s.t >= from * seconds && s.t <= to * seconds).map((s) => s.rss)
      const [first, last] = [window(0.1, 0.2), window(0.9, 1.01)]
      const growthOf = (a: number, b: number) => ((b - a) / a) * 100
      const floor = { start: Math.min(...first), end: Math.min(...last) }
      const middle = { start: median(first), end: median(last) }
      const peak = Math.max(...samples.map((s) => s.rss))
      const MiB = (b: number) => (b / 2 ** 20).toFixed(0)
      const achieved = hitResult.okPerSec + missResult.okPerSec
      const logErrors = await countErrorLines(service.proc.logFile)
      const notifications = sink.arrivals.length
      const jobs: string[] = []
      for (const job of ['health-check', 'cache-warm', 'vacuum-analyze']) {
        const { runs } = await service
          .api<{ runs: Array<{ status: string }> }>('GET', `/api/jobs/${job}/runs?limit=200`)
          .catch(() => ({ runs: [] }))
        const byStatus = new Map<string, number>()
        for (const r of runs) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1)
        jobs.push(`${job} ${[...byStatus].map(([status, n]) => `${n} ${status}`).join(', ') || 'no runs'}`)
      }
      return {
        rows: [
          row('failed requests (non-2xx, errors, timeouts, failed scrapes)', '', errors, 0, null, {
            op: '<=',
            value: 0,
            on: 'ours',
          }),
          row(
            'RSS growth, floor after collections, end of warm-up → end',
            '%',
            growthOf(floor.start, floor.end),
            null,
            null,
            { op: '<', value: 10, on: 'ours' },
            `${MiB(floor.start)} → ${MiB(floor.end)} MiB`,
          ),
          row(
            'RSS growth, window medians (mostly GC phase)',
            '%',
            growthOf(middle.start, middle.end),
            null,
            null,
            null,
            `${MiB(middle.start)} → ${MiB(middle.end)} MiB, peak ${MiB(peak)} MiB`,
          ),
          row(
            'throughput held',
            'req/s',
            achieved,
            target,
            achieved / target,
            null,
            `maximum measured ${Math.round(max.okPerSec)} req/s`,
          ),
          row('error lines in the service log', '', logErrors, null, null, null),
        ],
        notes: [
          `${CHAT_BODIES.length} cached prompts + ${Math.round(MISS_SHARE * 100)} % fresh ones; ${DASHBOARDS} live dashboards; ${hitResult.scrapes} scrapes; ${notifications} alert notifications received; job runs: ${jobs.join('; ')}.`,
        ],
        rounds: { max, hits: hitResult, misses: missResult, rss: samples },
      }
    } finally {
      if (dashboards) await loader.wsClose(dashboards.handle)
      await service.stop()
      await sink.stop()
    }
  },
}
