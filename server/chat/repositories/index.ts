import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.js'
import { AnalyticsRepository } from './analytics.js'
import { AnalyticsEventBuffer, DEFAULT_EVENT_BUFFER, type EventBufferOptions } from './event-buffer.js'
import { ConversationRepository } from './conversations.js'
import { ChatMaintenanceRepository } from './maintenance.js'
import { MessageRepository } from './messages.js'
import { SessionRepository } from './sessions.js'

export function createChatRepositories(
  db: Kysely<Database>,
  log: FastifyBaseLogger,
  eventBuffer: Partial<EventBufferOptions> = {},
) {
  const analytics = new AnalyticsRepository(
    db,
    new AnalyticsEventBuffer(db, log, { ...DEFAULT_EVENT_BUFFER, ...eventBuffer }),
  )
  return {
    sessions: new SessionRepository(db),
    conversations: new ConversationRepository(db),
    messages: new MessageRepository(db),
    analytics,
    // Its counts include analytics_events: what this instance buffered is written first.
    maintenance: new ChatMaintenanceRepository(db, () => analytics.flush()),
  }
}

export type ChatRepositories = ReturnType<typeof createChatRepositories>
