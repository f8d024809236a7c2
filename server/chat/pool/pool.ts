import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config.js'
import { AppError, serviceUnavailable } from '../../errors.js'
import type { Metrics } from '../../metrics/definitions.js'
import { createProvider } from '../providers/index.js'
import { OpenAIProvider } from '../providers/openai.js'
import { SimulatedProvider } from '../providers/simulated.js'
import type {
  ChatProvider,
  Completion,
  CompleteOptions,
  CompletionChunk,
  EmbeddingsRequest,
  EmbeddingsResponse,
  ModelInfo,
  ProviderRequest,
} from '../providers/types.js'
import { Member, p95, type AdminState } from './member.js'
import { readPoolFile, type PoolSpec, type PublicModel } from './pool-file.js'
import { pick } from './strategies.js'
import type { UpstreamView } from '../../contract/upstreams.js'

const CIRCUIT_GAUGE = { closed: 0, half_open: 1, open: 2 } as const
/** 2026-01-01: public model entries do not change from run to run. */
const CREATED = 1_767_225_600
const PROBE_TIMEOUT_MS = 5_000

/**
 * Several upstreams behind the one ChatProvider the chat service calls. A request for a public
 * model (UPSTREAMS_FILE `models`) goes to one of its deployments by the model's strategy; one
 * the file does not list goes to the upstreams whose /models listed it. A retryable failure
 * (connection, timeout, 429, 5xx) before the first token moves it to the next eligible
 * deployment, at most POOL_MAX_ATTEMPTS in all; after the first token it is the caller's error.
 */
export class PoolProvider implements ChatProvider {
  readonly name: ChatProvider['name']
  private readonly members = new Map<string, Member>()
  private readonly models: Map<string, PublicModel>
  /** Without UPSTREAMS_FILE: the one member CHAT_PROVIDER describes, answering as it always did. */
  private readonly single: Member | null

  constructor(
    spec: PoolSpec | null,
    private readonly config: Config['chat'],
    private readonly metrics: Metrics,
    private readonly log: FastifyBaseLogger,
    private readonly now: () => number = Date.now,
  ) {
    const circuit = config.pool.circuit
    if (!spec) {
      const provider = createProvider(config, log)
      this.single = new Member(config.provider, provider, 1, undefined, circuit)
      this.members.set(this.single.name, this.single)
      this.models = new Map()
      this.name = provider.name
      return
    }
    this.single = null
    this.name = 'pool'
    for (const u of spec.upstreams) {
      const provider =
        u.provider === 'simulated'
          ? new SimulatedProvider(config.simulated)
          : new OpenAIProvider(
              {
                baseUrl: u.base_url!,
                apiKey: u.api_key,
                model: config.openai.model,
                timeoutMs: u.timeout_ms ?? config.openai.timeoutMs,
                // The pool fails over to another upstream instead.
                maxRetries: 0,
              },
              log.child({ upstream: u.name }),
            )
      this.members.set(u.name, new Member(u.name, provider, u.weight, u.max_concurrency, circuit))
    }
    this.models = new Map(spec.models.map((m) => [m.name, m]))
  }

  static fromConfig(config: Config['chat'], metrics: Metrics, log: FastifyBaseLogger): PoolProvider {
    return new PoolProvider(config.pool.file ? readPoolFile(config.pool.file) : null, config, metrics, log)
  }

  upstreamNames(): string[] {
    return [...this.members.keys()]
  }

  close(): void {
    for (const m of this.members.values()) m.provider.close?.()
  }

  resolveModel(requested: string | undefined): string {
    if (this.single) return this.single.provider.resolveModel(requested)
    return requested ?? this.models.keys().next().value ?? this.config.openai.model
  }

  async listModels(signal: AbortSignal): Promise<ModelInfo[]> {
    if (this.single) return this.single.provider.listModels(signal)
    return [...this.models.keys()].map((id) => ({
      id,
      object: 'model',
      created: CREATED,
      owned_by: 'chat-control-plane',
    }))
  }

  /** Admin drain/disable/enable, as stored (every instance applies it). */
  setAdminState(upstream: string, state: AdminState): boolean {
    const member = this.members.get(upstream)
    if (!member) return false
    member.admin = state
    this.publishGauges()
    return true
  }

  async complete(request: ProviderRequest, options: CompleteOptions): Promise<Completion> {
    const model = request.model
    const deployments = await this.deployments(model)
    const route = this.models.get(model)
    const tried = new Set<Member>()
    let sent = false
    const reachesClient = options.tokensReachClient !== false
    const onChunk = (chunk: CompletionChunk) => {
      // A non-streamed reply's chunks stay with us: another upstream can still start over.
      if (reachesClient) sent = true
      options.onChunk(chunk)
    }
    let lastError: unknown
    for (let attempt = 0; attempt < this.config.pool.maxAttempts; attempt++) {
      const choice = this.choose(deployments, tried, route?.strategy ?? 'round-robin')
      if (!choice) break
      tried.add(choice.member)
      options.onUpstream?.(choice.member.name)
      try {
        return await this.attempt(choice.member, { ...request, model: choice.model }, options.signal, onChunk)
      } catch (err) {
        lastError = err
        if (sent || options.signal.aborted || !retryable(err)) throw err
        this.log.warn({ upstream: choice.member.name, attempt: attempt + 1 }, 'upstream failed; trying the next one')
      }
    }
    throw lastError ?? serviceUnavailable(`No upstream can take a request for model ${model} now`)
  }

  /** Embeddings through the pool: the same deployments, strategy and failover as a completion's. */
  async embeddings(request: EmbeddingsRequest, options: { signal: AbortSignal }): Promise<EmbeddingsResponse> {
    const deployments = await this.deployments(request.model)
    const route = this.models.get(request.model)
    const tried = new Set<Member>()
    let lastError: unknown
    for (let attempt = 0; attempt < this.config.pool.maxAttempts; attempt++) {
      const choice = this.choose(deployments, tried, route?.strategy ?? 'round-robin')
      if (!choice) break
      tried.add(choice.member)
      const member = choice.member
      const probe = member.circuit.admit(this.now())
      member.inFlight++
      try {
        const response = await member.provider.embeddings({ ...request, model: choice.model }, options)
        member.circuit.success()
        return response
      } catch (err) {
        lastError = err
        if (options.signal.aborted) member.circuit.release(probe)
        else if (retryable(err)) member.circuit.failure(this.now())
        else member.circuit.success()
        if (options.signal.aborted || !retryable(err)) throw err
        this.log.warn(
          { upstream: member.name, attempt: attempt + 1 },
          'upstream failed (embeddings); trying the next one',
        )
      } finally {
        member.inFlight--
      }
    }
    throw lastError ?? serviceUnavailable(`No upstream can take a request for model ${request.model} now`)
  }

  /** The active check (the health-check job): every upstream's /models, in parallel; up while any is. */
  readonly healthCheck = async (signal: AbortSignal): Promise<void> => {
    const results = await Promise.all([...this.members.values()].map((m) => this.probe(m, signal)))
    this.publishGauges()
    if (results.some(Boolean)) return
    const members = [...this.members.values()].filter((m) => m.admin !== 'disabled')
    if (this.single) throw new Error(this.single.probe?.error ?? 'no answer')
    throw new Error(
      `no upstream answered its /models probe: ${members.map((m) => `${m.name}: ${m.probe?.error ?? 'disabled'}`).join('; ')}`,
    )
  }

  views(): UpstreamView[] {
    const now = this.now()
    return [...this.members.values()].map((m) => ({
      name: m.name,
      provider: m.provider.name,
      state: m.admin,
      circuit: m.circuit.state(now),
      up: m.probe ? m.probe.up : null,
      weight: m.weight,
      inFlight: m.inFlight,
      requests: m.requests,
      errors: m.errors,
      latencyP95Ms: p95(m.latenciesMs),
      ttftP95Ms: p95(m.ttftsMs),
      recentLatenciesMs: m.latenciesMs.slice(-30),
      lastProbe: m.probe,
    }))
  }

  /** Deployments of `model`: the file's, or the upstreams whose /models listed it (probing once if none is known). */
  private async deployments(model: string): Promise<Array<{ member: Member; model: string }>> {
    if (this.single) return [{ member: this.single, model }]
    const listed = this.models.get(model)
    if (listed) return listed.deployments.map((d) => ({ member: this.members.get(d.upstream)!, model: d.model }))
    const serving = () => [...this.members.values()].filter((m) => m.models.has(model))
    if (!serving().length) await this.healthCheck(AbortSignal.timeout(PROBE_TIMEOUT_MS)).catch(() => {})
    const found = serving()
    if (!found.length)
      throw new AppError(404, 'model_not_found', `The model ${model} does not exist or no upstream serves it`)
    return found.map((member) => ({ member, model }))
  }

  /**
   * The next deployment not tried yet. Only eligible ones (active, room, circuit letting one
   * through); when no active upstream's circuit is closed, the one least recently opened is
   * tried rather than refusing for certain (a pool of one keeps answering as before the pool).
   */
  private choose(
    deployments: Array<{ member: Member; model: string }>,
    tried: Set<Member>,
    strategy: PublicModel['strategy'],
  ): { member: Member; model: string } | undefined {
    const now = this.now()
    const open = deployments.filter((d) => !tried.has(d.member))
    const eligible = open.filter((d) => d.member.eligible(now))
    const pool = eligible.length
      ? eligible
      : tried.size === 0
        ? open.filter((d) => d.member.admin === 'active' && d.member.hasRoom())
        : []
    if (!pool.length) return undefined
    const member = pick(
      strategy,
      pool.map((d) => d.member),
    )
    return pool.find((d) => d.member === member)
  }

  private async attempt(
    member: Member,
    request: ProviderRequest,
    signal: AbortSignal,
    onChunk: (chunk: CompletionChunk) => void,
  ): Promise<Completion> {
    const labels = { upstream: member.name }
    const started = performance.now()
    let firstTokenAt: number | null = null
    const probe = member.circuit.admit(this.now())
    member.inFlight++
    member.requests++
    this.metrics.upstreamInFlight.inc(labels)
    try {
      const completion = await member.provider.complete(request, {
        signal,
        onChunk(chunk: CompletionChunk) {
          firstTokenAt ??= performance.now()
          onChunk(chunk)
        },
      })
      member.circuit.success()
      this.metrics.upstreamRequestsTotal.inc({ ...labels, status: 'ok' })
      member.recordLatency(performance.now() - started, firstTokenAt === null ? null : firstTokenAt - started)
      return completion
    } catch (err) {
      if (signal.aborted) member.circuit.release(probe)
      else if (retryable(err)) member.circuit.failure(this.now())
      // The upstream answered (a 4xx is the request's fault): it is alive.
      else member.circuit.success()
      if (!signal.aborted) {
        member.errors++
        this.metrics.upstreamRequestsTotal.inc({ ...labels, status: 'error' })
      }
      throw err
    } finally {
      member.inFlight--
      this.metrics.upstreamInFlight.dec(labels)
      this.metrics.upstreamRequestDuration.observe(labels, (performance.now() - started) / 1000)
      this.metrics.upstreamCircuitState.set(labels, CIRCUIT_GAUGE[member.circuit.state(this.now())])
    }
  }

  /** GET /models of one upstream: its models are remembered for routing; a failure opens its circuit. */
  private async probe(member: Member, signal: AbortSignal): Promise<boolean> {
    if (member.admin === 'disabled') return false
    const at = new Date(this.now()).toISOString()
    try {
      const models = await member.provider.listModels(AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]))
      member.models = new Set(models.map((m) => m.id))
      member.probe = { at, up: true }
    } catch (err) {
      member.probe = { at, up: false, error: err instanceof Error ? err.message : String(err) }
      if (member.circuit.state(this.now()) === 'closed') member.circuit.trip(this.now())
    }
    return member.probe.up
  }

  private publishGauges(): void {
    const now = this.now()
    for (const m of this.members.values()) {
      const labels = { upstream: m.name }
      this.metrics.upstreamCircuitState.set(labels, CIRCUIT_GAUGE[m.circuit.state(now)])
      if (m.admin === 'disabled') this.metrics.upstreamUp.remove(labels)
      else if (m.probe) this.metrics.upstreamUp.set(labels, m.probe.up ? 1 : 0)
    }
    for (const model of this.models.values()) {
      const healthy = model.deployments.filter((d) => {
        const m = this.members.get(d.upstream)!
        return m.admin === 'active' && m.circuit.state(now) !== 'open' && m.probe?.up !== false
      }).length
      this.metrics.upstreamModelHealthy.set({ model: model.name }, healthy)
    }
    // A pool of one serves its provider's model: healthy while its one member is.
    if (this.single) {
      const m = this.single
      const healthy = m.admin === 'active' && m.circuit.state(now) !== 'open' && m.probe?.up !== false
      this.metrics.upstreamModelHealthy.set({ model: m.provider.resolveModel(undefined) }, healthy ? 1 : 0)
    }
  }
}

/** Worth another upstream: the provider could not connect, timed out, or the upstream answered 429/5xx. */
export function retryable(err: unknown): boolean {
  if (!(err instanceof AppError)) return false
  if (err.statusCode === 504) return true
  if (err.statusCode !== 502) return false
  const status = err.fields.upstreamStatus
  return status === undefined || status === 429 || status >= 500
}
