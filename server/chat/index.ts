import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createProvider } from './providers/index.js'
import { createChatRepositories } from './repositories/index.js'
import { conversationRoutes } from './routes/conversations.js'
import { messageRoutes } from './routes/messages.js'
import { openAiRoutes } from './routes/openai.js'
import { statsRoutes } from './routes/stats.js'
import { ChatService } from './service.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Completions (through the response cache), the conversation flow, cache warming, and the chat repositories. */
    chat: ChatService
  }
}

/** The chat API: conversations, the OpenAI-compatible endpoints, and the provider behind them. */
export default fp(
  async function chatPlugin(app: FastifyInstance) {
    const provider = createProvider(app.config.chat)
    const chat = new ChatService({
      provider,
      cache: app.cache,
      metrics: app.metrics,
      repos: createChatRepositories(app.db),
      config: app.config.chat,
      log: app.log.child({ component: 'chat' }),
    })
    app.decorate('chat', chat)
    app.health.register('provider', provider.healthCheck)
    // Before the server stops waiting for requests: open streams end with an error event instead of hanging.
    app.addHook('preClose', async () => chat.close())
    app.log.info({ provider: provider.name, model: provider.resolveModel(undefined) }, 'chat provider ready')

    await app.register(conversationRoutes)
    await app.register(messageRoutes)
    await app.register(openAiRoutes)
    await app.register(statsRoutes)
  },
  { name: 'chat', dependencies: ['database', 'cache', 'metrics-registry', 'health', 'auth'] },
)
