import type { TieredCache } from '../../cache/tiered-cache.js'
import type { ChatService } from '../service.js'
import { JobFailure, messageOf } from '../../jobs/attempt.js'
import type { JobDefinition } from '../../jobs/types.js'

export interface CacheWarmDeps {
  chat: Pick<ChatService, 'warm' | 'listModels' | 'repos'>
  cache: Pick<TieredCache, 'clear' | 'set'>
  /** Messages kept per preloaded conversation (CHAT_HISTORY_MESSAGES: what a new message sends). */
  historyMessages: number
  topPrompts?: number
  recentConversations?: number
}

const WINDOW_MS = 24 * 3_600_000

/**
 * cache-warm: the most frequent prompts of the last 24 h whose replies are not cached get
 * computed (and so cached) — each in the cache of the scope that asked it, so warming never
 * hands one tenant's prompt to another (with CACHE_SCOPE=global the scopes share one entry), the models list is refreshed, and the recently active
 * conversations are loaded into the `conversation` namespace.
 */
export function cacheWarmJob(deps: CacheWarmDeps): JobDefinition {
  const { chat, cache } = deps
  return {
    name: 'cache-warm',
    description:
      'Cache replies to the most frequent recent prompts, refresh the models list, preload recent conversations',
    schedule: '0 */10 * * * *',
    timeoutMs: 5 * 60_000,
    run: async (ctx, signal) => {
      const since = new Date(ctx.now.getTime() - WINDOW_MS)
      const prompts = await chat.repos.analytics.topPrompts(since, deps.topPrompts ?? 50)
      const replies = { candidates: prompts.length, warmed: 0, alreadyCached: 0, failed: 0, errors: [] as string[] }
      for (const prompt of prompts) {
        signal.throwIfAborted()
        try {
          const { warmed } = await chat.warm(prompt.scope, prompt.messages, prompt.model, prompt.params)
          if (warmed) replies.warmed++
          else replies.alreadyCached++
        } catch (err) {
          // One failing prompt (a provider hiccup) must not cost the others their warm-up.
          replies.failed++
          if (replies.errors.length < 5) replies.errors.push(messageOf(err))
        }
        ctx.progress({ replies })
      }

      if (replies.candidates > 0 && replies.failed === replies.candidates) {
        throw new JobFailure(`every reply failed to compute: ${replies.errors[0]}`, { replies })
      }

      signal.throwIfAborted()
      await cache.clear({ namespace: 'models' })
      const models = (await chat.listModels()).length

      const conversations = await chat.repos.conversations.recentlyActive(since, deps.recentConversations ?? 100)
      for (const conversation of conversations) {
        signal.throwIfAborted()
        const messages = await chat.repos.messages.recent(conversation.id, deps.historyMessages)
        await cache.set('conversation', conversation.id, { conversation, messages })
      }
      return { replies, models, conversationsPreloaded: conversations.length }
    },
  }
}
