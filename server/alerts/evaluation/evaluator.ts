import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import { evaluate, type EvaluationResult } from '../../../alerts/evaluate.js'
import type { AlertRule } from '../../../alerts/rule.js'
import { activeWindows, windowOver, type MaintenanceWindow } from '../../../alerts/maintenance.js'
import type { Silence } from '../../../alerts/silence.js'
import type { AlertState } from '../../../alerts/state.js'
import type { SeriesSource } from '../../../alerts/window.js'
import type { Database } from '../../db/schema.js'
import type { AppEvents } from '../../events.js'
import type { Metrics } from '../../metrics/definitions.js'
import type { Snapshot } from '../../metrics/snapshot.js'
import type { AlertChange } from '../changes.js'
import type { Notifier } from '../notifier.js'
import { toEvent } from './alert-event.js'
import type { RuleStore } from './rule-repository.js'
import type { SilenceStore } from './silence-repository.js'
import type { WindowStore } from './window-repository.js'
import { stateChanges, type AlertStateStore } from './state-repository.js'

export interface EvaluatorOptions {
  db: Kysely<Database>
  rules: RuleStore
  states: AlertStateStore
  silences: SilenceStore
  windows: WindowStore
  notifier: Notifier
  series: SeriesSource
  metrics: Metrics
  events: AppEvents
  log: FastifyBaseLogger
  /** Only the leader evaluates (fleet mode); one instance alone always leads. */
  isLeader: () => boolean
}

/** What an evaluation starts from; the leader keeps it in memory. */
export interface WorkingSet {
  rules: AlertRule[]
  /** Silences not yet over when loaded; the ones that end are dropped as ticks pass them. */
  silences: Silence[]
  /** Maintenance windows that can still mute (recurring ones always); over ones are dropped as ticks pass them. */
  windows: MaintenanceWindow[]
  states: AlertState[]
}

type Reloadable = Exclude<AlertChange, 'receivers'>
const EVERYTHING: readonly Reloadable[] = ['rules', 'silences', 'windows', 'states']

/**
 * Runs the pure engine on every sampler snapshot, on the leader, from memory: rules, silences
 * and alert states are loaded when this instance becomes leader and reloaded when they change
 * (AlertChanges), so a tick reads nothing from the database. What a tick changes is applied to
 * memory once it is durable: state, history and outbox in one transaction (none when nothing
 * changed), then the alerts_active gauge and 'alert' events.
 *
 * Ticks, loads and reloads run one at a time, in order; snapshots arriving meanwhile collapse
 * into the latest, reload requests into one.
 */
export class AlertEvaluator {
  private memory: WorkingSet | null = null
  private queuedSnapshot: Snapshot | null = null
  private queuedReload: Set<Reloadable> | null = null
  private chain: Promise<void> = Promise.resolve()
  /** The alerts_active gauge needs redrawing (it only changes with the states' rule, severity or state). */
  private gaugeStale = true

  constructor(private readonly options: EvaluatorOptions) {}

  onSnapshot(snapshot: Snapshot): void {
    const waiting = this.queuedSnapshot !== null
    this.queuedSnapshot = snapshot
    if (waiting) return
    this.run('alert evaluation failed; the next snapshot retries', async () => {
      const next = this.queuedSnapshot!
      this.queuedSnapshot = null
      await this.evaluateSnapshot(next)
    })
  }

  /** Leadership changed: load everything on taking over, forget it on stepping down. */
  onLeadership(leading: boolean): void {
    if (leading) this.requestReload(EVERYTHING)
    else this.run('dropping the alert working set failed', async () => this.drop())
  }

  /** Something the evaluator keeps in memory changed (here or on another instance). */
  onChange(change: AlertChange): void {
    if (change !== 'receivers') this.requestReload([change])
  }

  /** Resolves once every snapshot and reload requested so far has run. */
  async idle(): Promise<void> {
    let current: Promise<void>
    do {
      current = this.chain
      await current
    } while (current !== this.chain)
  }

  /** The working set the next tick starts from (null when not leading or not loaded yet). */
  workingSet(): Readonly<WorkingSet> | null {
    return this.memory
  }

  /**
   * Reads from the database what `changes` name (everything when nothing is loaded yet) and
   * the notifier's receivers with a full load. Not leading: forgets instead.
   */
  async reload(changes: Iterable<Reloadable> = EVERYTHING): Promise<void> {
    const { options } = this
    if (!options.isLeader()) return this.drop()
    const loaded = this.memory
    const wanted = new Set(loaded ? changes : EVERYTHING)
    const [rules, silences, windows, states] = await Promise.all([
      wanted.has('rules') || !loaded ? options.rules.list() : loaded.rules,
      wanted.has('silences') || !loaded ? options.silences.current(Date.now()) : loaded.silences,
      wanted.has('windows') || !loaded ? options.windows.current(Date.now()) : loaded.windows,
      wanted.has('states') || !loaded ? options.states.load() : loaded.states,
      loaded ? undefined : options.notifier.load(),
    ])
    this.memory = { rules, silences, windows, states }
    this.gaugeStale = true
    options.log.debug({ reloaded: [...wanted] }, 'alert working set loaded')
  }

  async evaluateSnapshot(snapshot: Snapshot): Promise<EvaluationResult | null> {
    const { options } = this
    if (!options.isLeader()) {
      this.drop()
      return null
    }
    // Leadership normally announces itself (onLeadership); this covers an isLeader that changed silently.
    if (!this.memory) await this.reload()
    const memory = this.memory!
    const now = snapshot.at
    memory.silences = memory.silences.filter((s) => s.endsAt > now)
    memory.windows = memory.windows.filter((w) => !windowOver(w, now))
    const before = memory.states
    const result = evaluate(memory.rules, snapshot, before, now, {
      silences: memory.silences,
      windows: activeWindows(memory.windows, now),
      series: options.series,
    })
    await options.notifier.idle()
    const plans = options.notifier.plan(result, now)
    const changes = stateChanges(before, result.states)
    if (changes.changed.length || changes.ended.length || result.transitions.length || plans.length) {
      await options.db.transaction().execute(async (trx) => {
        await options.states.saveEvaluation(trx, changes, result.transitions, new Date(now))
        if (plans.length) await options.notifier.enqueue(trx, plans, now)
      })
    }
    // Durable now: memory follows (a failed transaction left both memory and database as they were).
    if (this.memory === memory) memory.states = result.states
    if (this.gaugeStale || changes.changed.length || changes.ended.length) this.updateGauge(result.states)
    for (const transition of result.transitions) options.events.emit('alert', toEvent(transition))
    if (plans.length) options.notifier.committed(plans)
    return result
  }

  private requestReload(changes: Iterable<Reloadable>): void {
    if (this.queuedReload) {
      for (const change of changes) this.queuedReload.add(change)
      return
    }
    this.queuedReload = new Set(changes)
    this.run('reloading alert rules, silences or states failed; the next tick loads them', async () => {
      const wanted = this.queuedReload!
      this.queuedReload = null
      try {
        await this.reload(wanted)
      } catch (err) {
        // Evaluating on a stale working set would go unnoticed; without one the next tick loads afresh.
        this.memory = null
        throw err
      }
    })
  }

  private drop(): void {
    this.memory = null
    this.gaugeStale = true
    this.options.metrics.alertsActive.reset()
  }

  private run(failure: string, task: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      try {
        await task()
      } catch (err) {
        this.options.log.error({ err }, failure)
      }
    })
  }

  private updateGauge(states: readonly AlertState[]): void {
    this.gaugeStale = false
    const gauge = this.options.metrics.alertsActive
    gauge.reset()
    for (const s of states) gauge.inc({ alertname: s.rule, severity: s.severity, state: s.state })
  }
}
