import { randomBytes } from 'node:crypto'
import type { InjectOptions } from 'fastify'
import type { TestApp } from './app.js'

/**
 * Traffic that makes every series on the Grafana dashboard exist: successful and failing
 * HTTP requests (401, 404; no 5xx on purpose), chat completions that miss and then hit the
 * response cache, the models list (its own cache namespace), and database queries behind all
 * of them.
 */

/** The simulated provider streams quickly, so the traffic in these tests stays short. */
export function fastChatEnv(): Record<string, string> {
  return { SIM_FIRST_TOKEN_MS: '5', SIM_TOKENS_PER_SECOND: '5000', SAMPLE_INTERVAL_MS: '1000' }
}

async function expectStatus(t: TestApp, request: InjectOptions, status: number): Promise<void> {
  const res = await t.app.inject(request)
  if (res.statusCode !== status) {
    throw new Error(
      `${request.method ?? 'GET'} ${String(request.url)}: expected ${status}, got ${res.statusCode} ${res.body.slice(0, 300)}`,
    )
  }
}

export async function sendTraffic(t: TestApp, options: { rounds: number }): Promise<void> {
  for (let i = 0; i < options.rounds; i++) {
    await expectStatus(t, { method: 'GET', url: '/health/live' }, 200)
    await expectStatus(t, { method: 'GET', url: '/api/health', headers: t.auth() }, 200)
    await expectStatus(t, { method: 'GET', url: '/api/health' }, 401)
    await expectStatus(t, { method: 'GET', url: `/api/no-such-route-${i}` }, 404)
    await expectStatus(t, { method: 'GET', url: '/v1/models', headers: t.auth() }, 200)
    // A new question (generated: time to first token, tokens) and a repeated one (cached from round 2).
    for (const content of [`What is ${randomBytes(4).toString('hex')}?`, 'What does the control plane watch?']) {
      await expectStatus(
        t,
        {
          method: 'POST',
          url: '/v1/chat/completions',
          headers: t.auth(),
          payload: { messages: [{ role: 'user', content }] },
        },
        200,
      )
    }
  }
}

/** Waits until the sampler has produced a snapshot after this call (the system_* and signal gauges are set). */
export async function waitForSamplerTick(t: TestApp): Promise<void> {
  const after = Date.now()
  const deadline = after + 30_000
  while ((t.app.sampler.latest()?.at ?? 0) <= after) {
    if (Date.now() > deadline) throw new Error('no sampler tick within 30 s')
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * Runs the health-check job through the admin API and waits for it to succeed: a job run
 * (job_runs_total, job_duration_seconds, job_last_success_timestamp_seconds) and the
 * health_check_up gauges it sets.
 */
export async function runJob(t: TestApp, job = 'health-check'): Promise<void> {
  const deadline = Date.now() + 30_000
  let runId: string | null = null
  // A scheduled run of the same job may be under way: then ours is skipped, and we ask again.
  while (!runId) {
    const started = await t.app.inject({ method: 'POST', url: `/api/jobs/${job}/run`, headers: t.auth() })
    if (started.statusCode !== 202) throw new Error(`POST /api/jobs/${job}/run: ${started.statusCode} ${started.body}`)
    const body = started.json() as { runId: string; status: string }
    if (body.status === 'running') runId = body.runId
    else if (Date.now() > deadline) throw new Error(`job ${job} kept being skipped for 30 s`)
    else await new Promise((r) => setTimeout(r, 200))
  }
  for (;;) {
    const res = await t.app.inject({ method: 'GET', url: `/api/jobs/${job}/runs/${runId}`, headers: t.auth() })
    const status = res.statusCode === 200 ? (res.json() as { run: { status: string; error: string | null } }).run : null
    if (status && status.status !== 'running') {
      if (status.status !== 'success') throw new Error(`job ${job} ended ${status.status}: ${status.error}`)
      return
    }
    if (Date.now() > deadline) throw new Error(`job ${job} still running after 30 s`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
