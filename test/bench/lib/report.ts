import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, freemem, loadavg, totalmem, release } from 'node:os'
import { join } from 'node:path'
import { RESULTS_DIR, ROOT, settings } from './settings.js'

export interface Goal {
  op: '>=' | '<=' | '<'
  value: number
  /** 'ratio' (the default) compares the ratio; 'ours' compares our absolute figure. */
  on?: 'ratio' | 'ours'
}

export interface Row {
  metric: string
  unit: string
  ours: number | null
  peer: number | null
  /** Median of the per-round ratios ours / peer (rounds are paired, so drift cancels). */
  ratio: number | null
  goal: Goal | null
  /** null: reported only, or not measurable this run. */
  met: boolean | null
  note?: string
}

export interface ScenarioResult {
  id: string
  title: string
  ours: string
  peer: string
  rows: Row[]
  notes: string[]
  skipped?: string
  error?: string
  seconds: number
  /** Raw per-round figures, for anyone who wants to check the medians. */
  rounds?: unknown
  /** 1-minute load average at the scenario's start and end: how noisy the machine was. */
  loadAverage?: number[]
  /** Further tables measured on the way (the websocket scenario also gives memory's). */
  also?: Array<Omit<ScenarioResult, 'seconds' | 'also'>>
}

export function judge(goal: Goal | null, ours: number | null, ratio: number | null): boolean | null {
  if (!goal) return null
  const value = goal.on === 'ours' ? ours : ratio
  if (value === null || !Number.isFinite(value)) return null
  if (goal.op === '<') return value < goal.value
  return goal.op === '>=' ? value >= goal.value : value <= goal.value
}

export function row(
  metric: string,
  unit: string,
  ours: number | null,
  peer: number | null,
  ratio: number | null,
  goal: Goal | null,
  note?: string,
): Row {
  return { metric, unit, ours, peer, ratio, goal, met: judge(goal, ours, ratio), ...(note ? { note } : {}) }
}

function fmt(value: number | null, unit: string): string {
  if (value === null || !Number.isFinite(value)) return '—'
  const abs = Math.abs(value)
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3
  const text = value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
  return unit ? `${text} ${unit}` : text
}

function fmtRatio(ratio: number | null): string {
  if (ratio === null || !Number.isFinite(ratio)) return '—'
  return `${ratio.toFixed(Math.abs(ratio) < 0.1 ? 3 : 2)}×`
}

function fmtGoal(goal: Goal | null, unit: string): string {
  if (!goal) return 'reported'
  return goal.on === 'ours' ? `${goal.op} ${fmt(goal.value, unit)}` : `${goal.op} ${goal.value}×`
}

function fmtMet(met: boolean | null, goal: Goal | null): string {
  if (!goal) return '—'
  return met === null ? 'n/a' : met ? 'yes' : '**no**'
}

export function scenarioTable(result: ScenarioResult): string {
  const lines = [`### ${result.title}`, '', `ours: ${result.ours}  `, `peer: ${result.peer}`, '']
  if (result.skipped) return [...lines, `_skipped: ${result.skipped}_`, ''].join('\n')
  if (result.error) lines.push(`_failed: ${result.error}_`, '')
  if (result.rows.length) {
    lines.push('| metric | ours | peer | ratio | goal | met |', '| --- | --: | --: | --: | --- | --- |')
    for (const r of result.rows) {
      const ratio = fmtRatio(r.ratio)
      lines.push(
        `| ${r.metric}${r.note ? ` (${r.note})` : ''} | ${fmt(r.ours, r.unit)} | ${fmt(r.peer, r.unit)} | ${ratio} | ${fmtGoal(r.goal, r.unit)} | ${fmtMet(r.met, r.goal)} |`,
      )
    }
    lines.push('')
  }
  const notes = [
    ...result.notes,
    ...(result.loadAverage
      ? [`machine load average (1 min) ${result.loadAverage.join(' → ')} during this scenario`]
      : []),
  ]
  for (const note of notes) lines.push(`- ${note}`)
  if (notes.length) lines.push('')
  return lines.join('\n')
}

/** One line per row of every scenario: the table README shows. */
export function summaryTable(results: ScenarioResult[]): string {
  const lines = [
    '| scenario | metric | ours | peer | ratio | goal | met |',
    '| --- | --- | --: | --: | --: | --- | --- |',
  ]
  for (const s of results) {
    if (s.skipped || (s.error && s.rows.length === 0)) {
      lines.push(`| ${s.title} | ${s.skipped ? `skipped: ${s.skipped}` : `failed: ${s.error}`} | | | | | |`)
      continue
    }
    for (const r of s.rows) {
      const ratio = fmtRatio(r.ratio)
      lines.push(
        `| ${s.title} | ${r.metric} | ${fmt(r.ours, r.unit)} | ${fmt(r.peer, r.unit)} | ${ratio} | ${fmtGoal(r.goal, r.unit)} | ${fmtMet(r.met, r.goal)} |`,
      )
    }
  }
  return lines.join('\n')
}

function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !==
      ''
    return dirty ? `${head}+dirty` : head
  } catch {
    return null
  }
}

export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  freeMemoryGiB: number
  kernel: string
  node: string
  pinning: string
  loadAverage: { start: number[]; end?: number[] }
  commit: string | null
}

export function describeMachine(): Machine {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown'
  return {
    cpu,
    cores: settings.cores,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    pinning: settings.pinning
      ? `servers on CPU ${settings.serverCpus}, load generator on CPU ${settings.loaderCpus} (taskset)`
      : 'none (taskset missing or one core)',
    loadAverage: { start: loadavg().map((v) => Math.round(v * 100) / 100) },
    commit: gitCommit(),
  }
}

export function machineLine(m: Machine): string {
  const load = (l: number[] | undefined) => (l ? l.map((v) => v.toFixed(2)).join(' / ') : '?')
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}; ${m.pinning}; load average (1/5/15 min) ${load(m.loadAverage.start)} at start, ${load(m.loadAverage.end)} at end; commit ${m.commit ?? '?'}`
}

export function writeResults(payload: {
  startedAt: string
  machine: Machine
  settings: unknown
  scenarios: ScenarioResult[]
}): string {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const stamp = payload.startedAt.replace(/[:.]/g, '-')
  const ids = payload.scenarios.map((s) => s.id).join('+')
  const file = join(RESULTS_DIR, `${stamp}_${ids.length > 60 ? 'suite' : ids}.json`)
  const json = JSON.stringify(payload, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)
  writeFileSync(file, json)
  writeFileSync(join(RESULTS_DIR, 'latest.json'), json)
  return file
}
