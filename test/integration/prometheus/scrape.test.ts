import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, embedded, type TestApp } from '../../helpers/app.js'
import {
  loadDashboard,
  loadPrometheusRules,
  panelQueries,
  startPrometheus,
  substituteVariables,
  type RunningPrometheus,
} from '../../helpers/prometheus.js'
import { fastChatEnv, runJob, sendTraffic } from '../../helpers/prometheus-traffic.js'

const METRICS_TOKEN = 'scrape-metrics-token-0123456789abcdef'
const JOB = 'chat-control-plane' // job_name in prometheus/prometheus.yml
/** What Grafana substitutes for $__rate_interval with a 1 s scrape interval: four scrapes, rounded up. */
const RATE_INTERVAL = '15s'
/** Series appear after a few scrapes and rule evaluations; give up on a query after this long. */
const WAIT_MS = 60_000
/**
 * The job recording rules look back over a subquery with one-minute steps aligned to the
 * clock, so a job run shows there at the next full minute after its first scrape.
 */
const RECORDING_WAIT_MS = 90_000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Queries each expression until it returns at least one sample or the wait runs out; returns
 * the ones that stayed empty. A PromQL error fails at once.
 */
async function emptyAfterWaiting(
  prom: RunningPrometheus,
  queries: Array<{ name: string; expr: string }>,
  waitMs = WAIT_MS,
): Promise<string[]> {
  let pending = queries
  const deadline = Date.now() + waitMs
  for (;;) {
    const results = await Promise.all(pending.map(async (q) => ({ q, samples: await prom.query(q.expr) })))
    pending = results.filter((r) => r.samples.length === 0).map((r) => r.q)
    if (pending.length === 0 || Date.now() > deadline) return pending.map((q) => `${q.name}: ${q.expr}`)
    await sleep(1000)
  }
}

describe('a real Prometheus scraping the service', () => {
  let t: TestApp
  let prom: RunningPrometheus
  let instance: string
  let stopTraffic = false
  let traffic: Promise<void> = Promise.resolve()
  let trafficError: unknown = null

  beforeAll(async () => {
    t = await createTestApp(embedded, { env: { METRICS_TOKEN, ...fastChatEnv() } })
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    instance = `127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
    prom = await startPrometheus({ target: instance, bearerToken: METRICS_TOKEN })
    // Events that only happen now and then: a job run (success, duration, last success).
    await runJob(t)
    // Requests keep flowing while the queries run, so every rate has something to measure.
    traffic = (async () => {
      while (!stopTraffic) {
        await sendTraffic(t, { rounds: 1 })
        await sleep(300)
      }
    })().catch((err) => {
      trafficError = err
    })
  }, 120_000)

  afterAll(async () => {
    stopTraffic = true
    await traffic
    await prom?.stop()
    await t?.close()
  })

  it('scrapes /metrics with the bearer token from a file, as prometheus.yml describes', async () => {
    const deadline = Date.now() + WAIT_MS
    let target = (await prom.targets())[0]
    while (target?.health !== 'up' && Date.now() < deadline) {
      await sleep(500)
      target = (await prom.targets())[0]
    }
    expect(target, prom.output()).toMatchObject({ health: 'up', lastError: '', labels: { job: JOB, instance } })
    const up = await prom.query(`up{job="${JOB}"}`)
    expect(up.map((s) => s.value[1])).toEqual(['1'])
  })

  it('loads every rule in prometheus/rules and evaluates each without errors', async () => {
    const shipped = loadPrometheusRules()
    const deadline = Date.now() + WAIT_MS
    let loaded = await prom.rules()
    // A rule's health is "unknown" until its group first runs.
    while (loaded.some((r) => r.health === 'unknown') && Date.now() < deadline) {
      await sleep(500)
      loaded = await prom.rules()
    }
    expect(loaded.map((r) => r.name).sort()).toEqual(shipped.map((r) => r.record ?? r.alert).sort())
    expect(loaded.filter((r) => r.health !== 'ok')).toEqual([])
  })

  it("lists the scraped job and instance in the dashboard's job and instance variables", async () => {
    const variables = loadDashboard().templating.list.filter((v) => v.type === 'query')
    expect(variables.map((v) => v.name)).toEqual(['job', 'instance'])
    const expected: Record<string, string> = { job: JOB, instance }
    for (const variable of variables) {
      // label_values(<selector>, <label>): the values of <label> on the series <selector> finds.
      const definition = variable.definition ?? ''
      const m = definition.match(/^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/)
      expect(m, `${variable.name}: ${definition}`).not.toBeNull()
      const selector = substituteVariables(m![1]!, { job: JOB, instance, rateInterval: RATE_INTERVAL })
      const values = (await prom.query(selector)).map((sample) => sample.metric[m![2]!])
      expect(values, variable.name).toContain(expected[variable.name])
    }
  })

  it(
    'returns data for every Grafana panel query, template variables substituted',
    async () => {
      const queries = panelQueries(loadDashboard()).map((q) => ({
        name: `${q.panel} (${q.refId})`,
        expr: substituteVariables(q.expr, { job: JOB, instance, rateInterval: RATE_INTERVAL }),
      }))
      expect(queries.length).toBeGreaterThan(20)
      expect(await emptyAfterWaiting(prom, queries)).toEqual([])
      expect(trafficError).toBeNull()
    },
    WAIT_MS + 30_000,
  )

  it(
    'returns data for every recording rule',
    async () => {
      const records = loadPrometheusRules().filter((r) => r.record)
      expect(records.length).toBeGreaterThan(0)
      const queries = records.map((r) => ({
        name: r.record!,
        expr: `${r.record}{job="${JOB}", instance="${instance}"}`,
      }))
      expect(await emptyAfterWaiting(prom, queries, RECORDING_WAIT_MS)).toEqual([])
    },
    RECORDING_WAIT_MS + 30_000,
  )
})
