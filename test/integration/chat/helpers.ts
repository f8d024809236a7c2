import type { TestApp } from '../../helpers/app.js'

/** Fast simulated provider: no first-token delay, thousands of tokens a second. */
export const FAST_SIM = { SIM_FIRST_TOKEN_MS: '0', SIM_TOKENS_PER_SECOND: '100000' }

/** A new API token with `role`, created the way an admin would. */
export async function createToken(
  t: TestApp,
  role: 'admin' | 'viewer' | 'chat',
  name = `${role} token`,
): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: '/api/tokens', headers: t.auth(), payload: { name, role } })
  if (res.statusCode !== 201) throw new Error(`could not create a token: ${res.body}`)
  return res.json().secret
}

export async function newConversation(
  t: TestApp,
  body: Record<string, unknown> = {},
): Promise<{ sessionId: string; conversationId: string }> {
  const session = await t.app.inject({ method: 'POST', url: '/api/sessions', headers: t.auth(), payload: {} })
  const sessionId = session.json().session.id
  const conversation = await t.app.inject({
    method: 'POST',
    url: '/api/conversations',
    headers: t.auth(),
    payload: { session_id: sessionId, ...body },
  })
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
