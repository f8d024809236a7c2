import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { REPO_ROOT, RULES_FILE, type PromRule } from '../../helpers/prometheus.js'

/**
 * alerts/rules/default.yaml (evaluated by the service on its own signals) and the PromQL
 * alerting group of prometheus/rules/control-plane.rules.yml must describe the same alerts.
 */
interface EngineRule {
  name: string
  signal: string
  matchers?: Record<string, string>
  over?: { window: string; fn: 'avg' | 'max' | 'min' }
  op: string
  threshold: number
  for?: string
  keepFiringFor?: string
  severity: string
}

const MIRRORED_GROUP = 'chat-control-plane.alerts'
/** Groups only Prometheus can evaluate (the service cannot report its own absence). */
const PROMETHEUS_ONLY_GROUPS = ['chat-control-plane.scrape']

/** The series each signal is read from in PromQL (a scraped metric or one of our recording rules). */
const SIGNAL_IN_PROMQL: Record<string, string> = {
  http_latency_p95_seconds: 'job_instance:http_request_duration_seconds:p95_1m',
  http_error_ratio: 'job_instance:http_requests_server_errors:ratio_rate1m',
  system_memory_usage_ratio: 'system_memory_usage_ratio',
  system_cpu_usage_ratio: 'system_cpu_usage_ratio',
  cache_hit_ratio: 'job_instance_cache_type:cache_lookups_hit:ratio_rate1m',
  system_disk_usage_ratio: 'system_disk_usage_ratio',
  health_up: 'health_check_up',
  job_failing: 'job_instance_exported_job:job_failing:bool',
  chat_ttft_p95_seconds: 'job_instance:chat_time_to_first_token_seconds:p95_1m',
  event_loop_delay_p99_seconds: 'nodejs_eventloop_lag_p99_seconds',
  budget_used_ratio: 'budget_used_ratio',
  upstream_healthy_deployments: 'upstream_model_healthy_deployments',
}

/**
 * Signals whose matchers name a metric of their own in PromQL: health_up{component="upstream"}
 * is one series per upstream (label `upstream`), exported as upstream_up.
 */
const MATCHED_SIGNAL_IN_PROMQL: Record<string, { matchers: Record<string, string>; series: string }> = {
  health_up: { matchers: { component: 'upstream' }, series: 'upstream_up' },
}

const engineRules = (
  parse(readFileSync(join(REPO_ROOT, 'alerts/rules/default.yaml'), 'utf8')) as { rules: EngineRule[] }
).rules
const groups = (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ name: string; rules: PromRule[] }> })
  .groups
const mirrored = groups.find((g) => g.name === MIRRORED_GROUP)?.rules.filter((r) => r.alert) ?? []
const promByName = new Map(mirrored.map((r) => [r.alert!, r]))

/** Prometheus duration (1h30m, 30s, 0s) in milliseconds; absent means 0. */
function durationMs(value: string | undefined): number {
  if (!value) return 0
  const units: Record<string, number> = {
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
    w: 604_800_000,
    y: 31_536_000_000,
  }
  const parts = [...value.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)]
  expect(parts.map((p) => p[0]).join(''), `duration ${value}`).toBe(value)
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0)
}

/** The expression's final comparison against a number: `<series> <op> <threshold>`. */
function finalComparison(expr: string): { op: string; threshold: number } | null {
  const m = expr.trim().match(/(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)$/)
  if (!m || /(?:^|[\s)])bool\s*$/.test(expr.trim().slice(0, m.index))) return null
  return { op: m[1]!, threshold: Number(m[2]) }
}

describe('prometheus/rules mirror alerts/rules/default.yaml', () => {
  it('both files hold rules', () => {
    expect(engineRules.length).toBeGreaterThan(0)
    expect(mirrored.length).toBeGreaterThan(0)
  })

  it('have the same alert names', () => {
    expect([...promByName.keys()].sort()).toEqual(engineRules.map((r) => r.name).sort())
    // Prometheus-only alerts live in their own groups, never under an engine rule's name.
    const extra = groups
      .filter((g) => PROMETHEUS_ONLY_GROUPS.includes(g.name))
      .flatMap((g) => g.rules.map((r) => r.alert))
    for (const name of extra) expect(engineRules.map((r) => r.name)).not.toContain(name)
    expect(
      groups
        .map((g) => g.name)
        .filter((n) => n !== MIRRORED_GROUP && !PROMETHEUS_ONLY_GROUPS.includes(n) && !n.endsWith('.recording')),
    ).toEqual([])
  })

  describe.each(engineRules.map((r) => [r.name, r] as const))('%s', (name, engine) => {
    const prom = () => {
      const rule = promByName.get(name)
      expect(rule, `no alert ${name} in ${MIRRORED_GROUP}`).toBeDefined()
      return rule!
    }

    it('compares with the same operator and threshold', () => {
      const comparison = finalComparison(prom().expr)
      expect(comparison, `${name}: expr must end with "<op> <number>": ${prom().expr}`).not.toBeNull()
      expect(comparison).toEqual({ op: engine.op, threshold: engine.threshold })
    })

    it('has the same for and keep-firing-for', () => {
      expect(durationMs(prom().for)).toBe(durationMs(engine.for))
      expect(durationMs(prom().keep_firing_for)).toBe(durationMs(engine.keepFiringFor))
    })

    it('has the same severity', () => {
      expect(prom().labels?.severity).toBe(engine.severity)
    })

    it('reads the same signal, with the same matchers and window', () => {
      const special = MATCHED_SIGNAL_IN_PROMQL[engine.signal]
      const own =
        special && JSON.stringify(engine.matchers ?? {}) === JSON.stringify(special.matchers) ? special.series : null
      const series = own ?? SIGNAL_IN_PROMQL[engine.signal]
      expect(series, `signal ${engine.signal} has no PromQL equivalent listed in this test`).toBeDefined()
      const expr = prom().expr
      expect(expr).toMatch(
        new RegExp(`(^|[^a-zA-Z0-9_:])${series!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^a-zA-Z0-9_:]|$)`),
      )
      // A metric of its own carries the matchers in its name.
      if (!own)
        for (const [label, value] of Object.entries(engine.matchers ?? {}))
          expect(expr).toContain(`${label}="${value}"`)
      if (engine.over)
        expect(expr).toMatch(new RegExp(`${engine.over.fn}_over_time\\(.*\\[${engine.over.window}\\]\\)`))
      else expect(expr).not.toMatch(/_over_time\(/)
    })

    it('carries summary, description and runbook annotations', () => {
      const annotations = prom().annotations ?? {}
      for (const key of ['summary', 'description', 'runbook'])
        expect(annotations[key]?.trim(), `${name} ${key}`).toBeTruthy()
    })
  })
})
