import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { BudgetLedger } from './budgets.js'
import { PriceTable } from './prices.js'
import { UsageRepository } from './repository.js'
import { UsageRollupBuffer, DEFAULT_ROLLUP_BUFFER } from './rollup-buffer.js'
import { usageRoutes } from './routes.js'
import { ProjectRepository } from './project-repository.js'
import { projectRoutes } from './project-routes.js'
import { UsageService } from './service.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Chat usage accounting (hourly rollup), prices, budgets (reserve before the model call, settle after). */
    usage: UsageService
    usageRepository: UsageRepository
  }
}

/** Usage and budgets of the chat API (README, "Usage and budgets"). */
export default fp(
  async function usagePlugin(app: FastifyInstance) {
    const log = app.log.child({ component: 'usage' })
    const prices = PriceTable.fromFile(app.config.usage.pricesFile)
    const repository = new UsageRepository(app.db)
    const buffer = new UsageRollupBuffer(repository, log, {
      ...DEFAULT_ROLLUP_BUFFER,
      closeTimeoutMs: Math.min(5_000, app.config.shutdownTimeoutMs / 2),
    })
    const usage = new UsageService({
      prices,
      ledger: new BudgetLedger(app.redis, app.config.cachePrefix, log),
      buffer,
      repository,
      metrics: app.metrics,
      metricsPerToken: app.config.usage.metricsPerToken,
      log,
    })
    app.decorate('usage', usage)
    app.decorate('usageRepository', repository)
    app.sampler.addSource('usage', (now) => usage.signals(now))
    // After the last request (the chat plugin's onClose runs first: it registers later).
    app.addHook('onClose', async () => usage.close())
    await app.register(usageRoutes(usage, repository))
    await app.register(projectRoutes(new ProjectRepository(app.db), usage, repository))
  },
  { name: 'usage', dependencies: ['database', 'redis', 'metrics-registry', 'metrics', 'auth'] },
)
