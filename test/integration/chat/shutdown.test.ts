import type { AddressInfo } from 'node:net'
import { beforeAll, describe, expect, it } from 'vitest'
import { backends, createTestApp, type TestApp } from '../../helpers/app.js'
import { newConversation } from '../../helpers/chat.js'

/** Reads an SSE response until `until` matches what arrived so far; returns the reader to finish with. */
async function readUntil(res: Response, until: (text: string) => boolean) {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  while (!until(text)) {
    const { value, done } = await reader.read()
    if (done) break
    text += decoder.decode(value, { stream: true })
  }
  return {
    text,
    async rest() {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return text
        text += decoder.decode(value, { stream: true })
      }
    },
  }
}

describe.each(backends)('graceful shutdown with open streams ($name)', (backend) => {
  let t: TestApp
  beforeAll(async () => {
    // Slow enough that the streams are still open when the app closes (the test closes it).
    t = await createTestApp(backend, { env: { SIM_FIRST_TOKEN_MS: '0', SIM_TOKENS_PER_SECOND: '4' } })
  })

  it('ends every open stream with an error event instead of hanging', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
    const { conversationId } = await newConversation(t)
    const headers = { ...t.auth(), 'content-type': 'application/json' }

    const conversation = await fetch(`${base}/api/conversations/${conversationId}/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ content: 'a long story please', stream: true }),
    })
    const openAi = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ messages: [{ role: 'user', content: 'another long story' }], stream: true }),
    })
    const first = await readUntil(conversation, (text) => text.includes('event: token'))
    const second = await readUntil(openAi, (text) => text.includes('"content":"Simulated '))

    const closing = t.close()
    const conversationBody = await first.rest()
    const openAiBody = await second.rest()
    await closing

    const lastEvent = conversationBody.trim().split('\n\n').at(-1)!
    expect(lastEvent).toMatch(/^event: error\n/)
    expect(JSON.parse(lastEvent.split('\ndata: ')[1]!)).toMatchObject({ code: 'service_unavailable' })
    expect(conversationBody).not.toContain('event: complete')
    const lastChunk = openAiBody.trim().split('\n\n').at(-1)!
    expect(JSON.parse(lastChunk.slice('data: '.length))).toMatchObject({ error: { code: 'service_unavailable' } })
    expect(openAiBody).not.toContain('[DONE]')
  })
})
