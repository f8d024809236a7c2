import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, embedded, type TestApp } from '../../helpers/app.js'
import { PROMTOOL, runTool } from '../../helpers/prometheus.js'
import { fastChatEnv, runJob, sendTraffic, waitForSamplerTick } from '../../helpers/prometheus-traffic.js'

const METRICS_TOKEN = 'lint-metrics-token-0123456789abcdef'

describe('/metrics output', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp(embedded, { env: { METRICS_TOKEN, ...fastChatEnv() } })
    // Labelled series only appear once something happened: send every kind of traffic first.
    await sendTraffic(t, { rounds: 2 })
    await runJob(t)
    await waitForSamplerTick(t)
  })
  afterAll(async () => t?.close())

  it('passes `promtool check metrics` with no lint problems', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    // The exposition holds the labelled series the traffic created, so the lint saw them.
    const labelled = [
      'http_requests_total{',
      'http_request_duration_seconds_bucket{',
      'database_query_duration_seconds_bucket{',
      'chat_requests_total{',
      'chat_time_to_first_token_seconds_bucket{',
      'cache_requests_total{',
      'job_runs_total{',
      'health_check_up{',
      'system_disk_usage_ratio{',
    ]
    for (const name of labelled) expect(res.body).toContain(name)
    const { code, stdout, stderr } = await runTool(PROMTOOL, ['check', 'metrics'], { input: res.body })
    expect(stdout + stderr, 'lint problems').toBe('')
    expect(code).toBe(0)
  })
})
