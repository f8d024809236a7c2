/**
 * Every signal a snapshot can hold (README "Metrics" lists them): alert rules, the dashboard and the
 * series API refer to these names. `source` says which feature contributes it.
 */
export interface SignalInfo {
  name: string
  labels: string[]
  unit: 'ratio' | 'seconds' | 'per_second' | 'count' | 'bytes' | 'boolean'
  meaning: string
  source: 'metrics' | 'jobs' | 'live' | 'usage'
}

export const SIGNALS: readonly SignalInfo[] = [
  {
    name: 'http_requests_per_second',
    labels: [],
    unit: 'per_second',
    meaning: 'HTTP requests on all routes (scrapes of /metrics excluded)',
    source: 'metrics',
  },
  {
    name: 'http_error_ratio',
    labels: [],
    unit: 'ratio',
    meaning: '5xx responses / all responses; null without traffic',
    source: 'metrics',
  },
  {
    name: 'http_latency_p50_seconds',
    labels: [],
    unit: 'seconds',
    meaning: 'median response time, from histogram bucket deltas',
    source: 'metrics',
  },
  {
    name: 'http_latency_p95_seconds',
    labels: [],
    unit: 'seconds',
    meaning: '95th percentile response time',
    source: 'metrics',
  },
  {
    name: 'http_latency_p99_seconds',
    labels: [],
    unit: 'seconds',
    meaning: '99th percentile response time',
    source: 'metrics',
  },
  {
    name: 'cache_hit_ratio',
    labels: ['cache_type'],
    unit: 'ratio',
    meaning: 'lookups answered by any cache layer / lookups; null without traffic',
    source: 'metrics',
  },
  {
    name: 'db_query_p95_seconds',
    labels: [],
    unit: 'seconds',
    meaning: '95th percentile database query time, all queries',
    source: 'metrics',
  },
  {
    name: 'db_pool_waiting',
    labels: [],
    unit: 'count',
    meaning: 'clients waiting for a database connection (now)',
    source: 'metrics',
  },
  {
    name: 'chat_requests_per_second',
    labels: [],
    unit: 'per_second',
    meaning: 'chat completions, cached or not',
    source: 'metrics',
  },
  {
    name: 'chat_ttft_p95_seconds',
    labels: [],
    unit: 'seconds',
    meaning: '95th percentile time to the first generated token',
    source: 'metrics',
  },
  {
    name: 'chat_tokens_per_second',
    labels: [],
    unit: 'per_second',
    meaning: 'output tokens generated',
    source: 'metrics',
  },
  {
    name: 'system_cpu_usage_ratio',
    labels: [],
    unit: 'ratio',
    meaning: 'host CPU busy time since the previous sample',
    source: 'metrics',
  },
  {
    name: 'system_memory_usage_ratio',
    labels: [],
    unit: 'ratio',
    meaning: 'memory used against the cgroup limit when there is one, else the host',
    source: 'metrics',
  },
  {
    name: 'system_disk_usage_ratio',
    labels: ['mount'],
    unit: 'ratio',
    meaning: 'used share of the filesystem holding DATA_DIR, refreshed at most every 30 s',
    source: 'metrics',
  },
  {
    name: 'event_loop_delay_p99_seconds',
    labels: [],
    unit: 'seconds',
    meaning: '99th percentile event-loop delay since the previous sample',
    source: 'metrics',
  },
  {
    name: 'process_rss_bytes',
    labels: [],
    unit: 'bytes',
    meaning: 'resident memory of this process',
    source: 'metrics',
  },
  {
    name: 'health_up',
    labels: ['component', 'upstream'],
    unit: 'boolean',
    meaning:
      '1 up, 0 down, per component (database, redis, provider, disk) from the last health check; component "upstream" once per pool upstream (label upstream)',
    source: 'metrics',
  },
  {
    name: 'upstream_healthy_deployments',
    labels: ['model'],
    unit: 'count',
    meaning: 'deployments of a public pool model that can take requests (active, circuit not open, last probe up)',
    source: 'metrics',
  },
  {
    name: 'job_failing',
    labels: ['job'],
    unit: 'boolean',
    meaning: '1 when the last run of the job failed',
    source: 'jobs',
  },
  {
    name: 'budget_used_ratio',
    labels: ['scope'],
    unit: 'ratio',
    meaning:
      'budget spent this period (in-flight reservations included) / budget, the larger of tokens and cost; scopes with a budget this instance served',
    source: 'usage',
  },
  {
    name: 'websocket_connections',
    labels: [],
    unit: 'count',
    meaning: 'open live-dashboard WebSocket connections',
    source: 'live',
  },
]

export const SIGNAL_NAMES: readonly string[] = SIGNALS.map((s) => s.name)
