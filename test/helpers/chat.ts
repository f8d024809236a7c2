import type { TestApp } from './app.js'

/** Fast simulated provider: no first-token delay, thousands of tokens a second. */
export const FAST_SIM = { SIM_FIRST_TOKEN_MS: '0', SIM_TOKENS_PER_SECOND: '100000' }

export async function newConversation(
  t: TestApp,
  body: Record<string, unknown> = {},
  /** Whose they are (default: the admin token's scope). */
  token?: string,
): Promise<{ sessionId: string; conversationId: string }> {
  const session = await t.request('POST', '/api/sessions', {}, { token })
  const sessionId = session.json().session.id
  const conversation = await t.request('POST', '/api/conversations', { session_id: sessionId, ...body }, { token })
  return { sessionId, conversationId: conversation.json().conversation.id }
}

export interface SseEvent {
  event: string | null
  data: string
}

/** A whole Server-Sent Events body, event by event. */
export function parseSse(body: string): SseEvent[] {
  return body
    .split(/\n\n/)
    .filter((block) => block.trim())
    .map((block) => {
      let event: string | null = null
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7)
        else if (line.startsWith('data: ')) data.push(line.slice(6))
      }
      return { event, data: data.join('\n') }
    })
}
