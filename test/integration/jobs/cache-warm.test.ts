import { describe, expect, it } from 'vitest'
import { backends, useTestApp } from '../../helpers/app.js'
import { runThroughApi } from '../../helpers/jobs.js'

describe.each(backends)('cache-warm ($name)', (backend) => {
  const t = useTestApp(backend, { env: { SIM_FIRST_TOKEN_MS: '0', SIM_TOKENS_PER_SECOND: '100000' } })

  async function ask(content: string) {
    const res = await t.chat(content)
    expect(res.statusCode).toBe(200)
  }

  it('computes replies for frequent prompts that are not cached, refreshes models, preloads recent conversations', async () => {
    await ask('how do I reset my password?')
    await ask('how do I reset my password?')
    await ask('what are your opening hours?')
    const session = (await t.request('POST', '/api/sessions', {})).json().session
    const conversation = (await t.request('POST', '/api/conversations', { session_id: session.id })).json().conversation
    const posted = await t.request('POST', `/api/conversations/${conversation.id}/messages`, { content: 'hello' })
    expect(posted.statusCode).toBe(201)

    // Everything asked is cached already: nothing to compute.
    const warm = await runThroughApi(t, 'cache-warm')
    expect(warm.status).toBe('success')
    expect(warm.output).toMatchObject({ replies: { warmed: 0, failed: 0 } })
    const candidates = (warm.output!.replies as { candidates: number; alreadyCached: number }).candidates
    expect(candidates).toBeGreaterThanOrEqual(3)
    expect((warm.output!.replies as { alreadyCached: number }).alreadyCached).toBe(candidates)
    expect(warm.output!.models as number).toBeGreaterThan(0)
    expect(warm.output!.conversationsPreloaded).toBe(1)
    expect(await t.app.cache.get('conversation', conversation.id)).toMatchObject({
      conversation: { id: conversation.id },
      messages: [{ content: 'hello' }, { role: 'assistant' }],
    })

    // After a cache clear the same prompts are computed again, ahead of the next user.
    await t.app.cache.clear({ namespace: 'ai_response' })
    const cold = await runThroughApi(t, 'cache-warm')
    expect(cold.output).toMatchObject({ replies: { candidates, warmed: candidates, alreadyCached: 0 } })
    const again = await t.chat('what are your opening hours?')
    expect(again.headers['x-cache']).toMatch(/hit/i)
  })
})
