import type { Scenario } from '../lib/scenario.js'
import { alertEval } from './alert-eval.js'
import { alerts } from './alerts.js'
import { autopipelining } from './autopipelining.js'
import { bogusTokens } from './bogus-tokens.js'
import { chatCache } from './chat-cache.js'
import { fastifyMetrics } from './fastify-metrics.js'
import { gateway } from './gateway.js'
import { harness } from './harness.js'
import { instrumentation } from './instrumentation.js'
import { limits } from './limits.js'
import { memory } from './memory.js'
import { pagination } from './pagination.js'
import { failover, pool } from './pool.js'
import { sampler } from './sampler.js'
import { soak } from './soak.js'
import { scrape } from './scrape.js'
import { startup } from './startup.js'
import { websocket } from './websocket.js'

/** In the order `npm run bench` runs them (alerts starts first and finishes last: it mostly waits). */
export const scenarios: Scenario[] = [
  harness,
  instrumentation,
  fastifyMetrics,
  chatCache,
  gateway,
  pool,
  failover,
  autopipelining,
  limits,
  pagination,
  scrape,
  bogusTokens,
  websocket,
  alerts,
  alertEval,
  sampler,
  memory,
  soak,
  startup,
]
