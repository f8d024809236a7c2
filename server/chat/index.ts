import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { cacheWarmJob } from './jobs/cache-warm.js'
import { ChatLimits } from './limits/index.js'
import { UpstreamAdminStates, upstreamStatesChannel } from './pool/admin-states.js'
import { PoolProvider } from './pool/pool.js'
import { createChatRepositories } from './repositories/index.js'
import { conversationRoutes } from './routes/conversations.js'
import { messageRoutes, replayMessageStream } from './routes/messages.js'
import { installIdempotency } from './idempotency/index.js'
import { openAiRoutes } from './routes/openai.js'
import { statsRoutes } from './routes/stats.js'
import { upstreamRoutes } from './routes/upstreams.js'
import { ChatService } from './service.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Completions (through the response cache), the conversation flow, cache warming, and the chat repositories. */
    chat: ChatService
    /** The upstream pool behind the chat provider, and its admin states (drain, disable). */
    upstreams: { pool: PoolProvider; states: UpstreamAdminStates }
  }
}

/** The chat API: conversations, the OpenAI-compatible endpoints, and the provider behind them. */
export default fp(
  async function chatPlugin(app: FastifyInstance) {
    const log = app.log.child({ component: 'chat' })
    // UPSTREAMS_FILE's pool, or CHAT_PROVIDER/OPENAI_* as a pool of one.
    const provider = PoolProvider.fromConfig(app.config.chat, app.metrics, log)
    const states = new UpstreamAdminStates(
      app.db,
      app.redis,
      upstreamStatesChannel(app.config.cachePrefix),
      provider,
      log,
    )
    await states.load()
    states.start()
    // Buffered analytics events are written on close; leave the rest of the shutdown budget to the others.
    const repos = createChatRepositories(app.db, log, {
      closeTimeoutMs: Math.min(5_000, app.config.shutdownTimeoutMs / 2),
    })
    const chat = new ChatService({
      provider,
      cache: app.cache,
      metrics: app.metrics,
      repos,
      config: app.config.chat,
      cacheScope: app.config.cache.scope,
      usage: app.usage,
      log,
      limits: new ChatLimits({
        redis: app.redis,
        keyPrefix: app.config.cachePrefix,
        defaults: app.config.chat.defaultLimits,
        maxOutputTokens: app.config.chat.maxOutputTokens,
        metrics: app.metrics,
        log,
      }),
    })
    app.decorate('chat', chat)
    app.decorate('upstreams', { pool: provider, states })
    // A post holds its key for as long as one completion may take (timeout × attempts), then a retry may take over.
    installIdempotency(app, {
      leaseMs: Math.max(60_000, app.config.chat.openai.timeoutMs * (app.config.chat.openai.maxRetries + 1) + 10_000),
      replayStream: (_request, reply, _status, body) => replayMessageStream(app, reply, body),
    })
    app.health.register('provider', provider.healthCheck)
    app.jobs.define(cacheWarmJob({ chat, cache: app.cache, historyMessages: app.config.chat.historyMessages }))
    // Before the server stops waiting for requests: open streams end with an error event instead of
    // hanging; non-streamed replies get half the shutdown time to finish (the rest is for closing).
    app.addHook('preClose', async () => chat.close(app.config.shutdownTimeoutMs / 2))
    // onClose runs after the last in-flight request, and before the database closes (hooks run
    // in reverse order): the buffered analytics events are written, the upstream connections closed.
    app.addHook('onClose', async () => {
      states.stop()
      provider.close()
      await repos.analytics.close()
    })
    app.log.info(
      { provider: provider.name, model: provider.resolveModel(undefined), upstreams: provider.upstreamNames() },
      'chat provider ready',
    )

    await app.register(conversationRoutes)
    await app.register(messageRoutes)
    await app.register(openAiRoutes)
    await app.register(statsRoutes)
    await app.register(upstreamRoutes)
  },
  { name: 'chat', dependencies: ['database', 'redis', 'cache', 'metrics-registry', 'health', 'jobs', 'auth', 'usage'] },
)
