import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * Every metric the service exports (README "Metrics"; Grafana and the Prometheus rules depend on the names), on a registry owned by one app
 * instance: two apps in one process share nothing. Names and labels are the contract with
 * the Prometheus rules and the Grafana dashboard; labels stay low-cardinality.
 */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const DB_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
const CHAT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120]
const JOB_BUCKETS = [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600]
const LINT_FAILING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
]

export function createMetrics(options: { instanceId: string; defaultMetrics?: boolean }) {
  const registry = new Registry()
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry })
    // These three gauges end in _total, which `promtool check metrics` rejects for non-counters;
    // nodejs_active_handles / _requests / _resources carry the same numbers broken down by type.
    for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name)
  }
  const r = { registers: [registry] }

  return {
    registry,
    httpRequestDuration: new Histogram({
      ...r,
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route template',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: LATENCY_BUCKETS,
    }),
    httpRequestsTotal: new Counter({
      ...r,
      name: 'http_requests_total',
      help: 'HTTP requests by route template',
      labelNames: ['method', 'route', 'status_code'] as const,
    }),
    websocketActiveConnections: new Gauge({
      ...r,
      name: 'websocket_active_connections',
      help: 'Open live-dashboard WebSocket connections',
    }),
    databaseQueryDuration: new Histogram({
      ...r,
      name: 'database_query_duration_seconds',
      help: 'Database query duration by statement type and main table',
      labelNames: ['query_type', 'table'] as const,
      buckets: DB_BUCKETS,
    }),
    dbPoolConnections: new Gauge({
      ...r,
      name: 'db_pool_connections',
      help: 'Database pool connections by state',
      labelNames: ['state'] as const,
    }),
    cacheRequestsTotal: new Counter({
      ...r,
      name: 'cache_requests_total',
      help: 'Cache lookups by namespace, layer and result',
      labelNames: ['cache_type', 'layer', 'result'] as const,
    }),
    cacheHitRatio: new Gauge({
      ...r,
      name: 'cache_hit_ratio',
      help: 'Share of cache lookups answered from any layer, per namespace (0..1)',
      labelNames: ['cache_type'] as const,
    }),
    chatRateLimitedTotal: new Counter({
      ...r,
      name: 'chat_rate_limited_total',
      help: 'Chat requests refused with 429, by the limit they hit (rpm, tpm, concurrency; budget: insufficient_quota)',
      labelNames: ['reason'] as const,
    }),
    chatLimitFallbackTotal: new Counter({
      ...r,
      name: 'chat_limit_fallback_total',
      help: "Chat limit checks counted in this instance's memory because Redis did not answer (limits then hold per instance only)",
    }),
    chatRequestsTotal: new Counter({
      ...r,
      name: 'chat_requests_total',
      help: 'Chat completions by provider, model, cache use and outcome',
      labelNames: ['provider', 'model', 'cached', 'status'] as const,
    }),
    chatCompletionDuration: new Histogram({
      ...r,
      name: 'chat_completion_duration_seconds',
      help: 'Chat completion duration, first byte of request to last token',
      labelNames: ['provider', 'model', 'cached'] as const,
      buckets: CHAT_BUCKETS,
    }),
    chatTimeToFirstToken: new Histogram({
      ...r,
      name: 'chat_time_to_first_token_seconds',
      help: 'Time from request to the first generated token',
      labelNames: ['provider', 'model'] as const,
      buckets: CHAT_BUCKETS,
    }),
    chatTokensTotal: new Counter({
      ...r,
      name: 'chat_tokens_total',
      help: 'Tokens processed by direction',
      labelNames: ['provider', 'model', 'direction'] as const,
    }),
    budgetUsedRatio: new Gauge({
      ...r,
      name: 'budget_used_ratio',
      help: 'Budget spent this period (reservations of requests in flight included) / budget, the larger of tokens and cost, for budgeted scopes this instance served; token scopes only with METRICS_PER_TOKEN=true',
      labelNames: ['scope'] as const,
    }),
    jobRunsTotal: new Counter({
      ...r,
      name: 'job_runs_total',
      help: 'Job runs by outcome',
      labelNames: ['job', 'status'] as const,
    }),
    jobDuration: new Histogram({
      ...r,
      name: 'job_duration_seconds',
      help: 'Job run duration',
      labelNames: ['job', 'status'] as const,
      buckets: JOB_BUCKETS,
    }),
    jobLastSuccess: new Gauge({
      ...r,
      name: 'job_last_success_timestamp_seconds',
      help: 'Unix time of the last successful run',
      labelNames: ['job'] as const,
    }),
    upstreamRequestsTotal: new Counter({
      ...r,
      name: 'upstream_requests_total',
      help: 'Calls to each upstream of the pool (status ok or error; one client request may make several)',
      labelNames: ['upstream', 'status'] as const,
    }),
    upstreamInFlight: new Gauge({
      ...r,
      name: 'upstream_in_flight',
      help: 'Calls to each upstream under way',
      labelNames: ['upstream'] as const,
    }),
    upstreamRequestDuration: new Histogram({
      ...r,
      name: 'upstream_request_duration_seconds',
      help: 'Duration of each call to an upstream, failed ones included',
      labelNames: ['upstream'] as const,
      buckets: CHAT_BUCKETS,
    }),
    upstreamCircuitState: new Gauge({
      ...r,
      name: 'upstream_circuit_state',
      help: "Each upstream's circuit: 0 closed, 1 half-open, 2 open",
      labelNames: ['upstream'] as const,
    }),
    upstreamUp: new Gauge({
      ...r,
      name: 'upstream_up',
      help: '1 when the upstream answered its last /models probe (the health-check job), 0 otherwise',
      labelNames: ['upstream'] as const,
    }),
    upstreamModelHealthy: new Gauge({
      ...r,
      name: 'upstream_model_healthy_deployments',
      help: 'Deployments of each public model that can take requests (active, circuit not open, last probe up)',
      labelNames: ['model'] as const,
    }),
    healthCheckUp: new Gauge({
      ...r,
      name: 'health_check_up',
      help: '1 when the component answers its health check, 0 otherwise',
      labelNames: ['component'] as const,
    }),
    healthCheckLatency: new Gauge({
      ...r,
      name: 'health_check_latency_seconds',
      help: 'Latency of the last health check',
      labelNames: ['component'] as const,
    }),
    alertsActive: new Gauge({
      ...r,
      name: 'alerts_active',
      help: 'Alerts currently pending or firing',
      labelNames: ['alertname', 'severity', 'state'] as const,
    }),
    alertNotificationsTotal: new Counter({
      ...r,
      name: 'alert_notifications_total',
      help: 'Alert notification delivery attempts by outcome',
      labelNames: ['receiver', 'status'] as const,
    }),
    systemCpuUsage: new Gauge({ ...r, name: 'system_cpu_usage_ratio', help: 'Host CPU usage (0..1)' }),
    systemMemoryUsage: new Gauge({
      ...r,
      name: 'system_memory_usage_ratio',
      help: 'Memory usage against the cgroup limit when there is one, else the host (0..1)',
    }),
    systemDiskUsage: new Gauge({
      ...r,
      name: 'system_disk_usage_ratio',
      help: 'Disk usage of the filesystem holding DATA_DIR (0..1)',
      labelNames: ['mount'] as const,
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>
