import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.js'
import { AnalyticsRepository } from './analytics.js'
import { ConversationRepository } from './conversations.js'
import { ChatMaintenanceRepository } from './maintenance.js'
import { MessageRepository } from './messages.js'
import { SessionRepository } from './sessions.js'

export function createChatRepositories(db: Kysely<Database>) {
  return {
    sessions: new SessionRepository(db),
    conversations: new ConversationRepository(db),
    messages: new MessageRepository(db),
    analytics: new AnalyticsRepository(db),
    maintenance: new ChatMaintenanceRepository(db),
  }
}

export type ChatRepositories = ReturnType<typeof createChatRepositories>
