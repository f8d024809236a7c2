import { describe, expect, it } from 'vitest'
import { backends } from '../../helpers/app.js'
import { useAlertingApp } from '../../helpers/alerts.js'

describe.each(backends)('silence guards ($name)', (backend) => {
  const { t, fire } = useAlertingApp(backend)
  const endsAt = () => new Date(Date.now() + 3_600_000).toISOString()

  it('refuses a silence that would match every current and rule alert unless forced', async () => {
    await fire('a')
    const everything = [{ name: 'severity', op: '=~', value: '.*' }]
    const refused = await t.request('POST', '/api/silences', { matchers: everything, endsAt: endsAt(), comment: 'all' })
    expect(refused.statusCode).toBe(400)
    expect(refused.json().error).toMatchObject({ code: 'silences_everything' })
    expect(refused.json().error.message).toMatch(/"force": true/)

    const forced = await t.request('POST', '/api/silences', {
      matchers: everything,
      endsAt: endsAt(),
      comment: 'planned outage',
      force: true,
    })
    expect(forced.statusCode).toBe(201)
    const silence = forced.json().silence
    expect(silence).toMatchObject({ createdBy: 'ADMIN_TOKEN', comment: 'planned outage' })
    expect(silence.timeLeft).toBeGreaterThan(3_500_000)
    expect(silence.timeLeft).toBeLessThanOrEqual(3_600_000)

    // A replacement is guarded too.
    const replaced = await t.request('PUT', `/api/silences/${silence.id}`, {
      matchers: everything,
      endsAt: endsAt(),
      comment: 'still all',
    })
    expect(replaced.statusCode).toBe(400)
    await t.request('DELETE', `/api/silences/${silence.id}`)
    const listed = (await t.request('GET', '/api/silences')).json().silences
    expect(listed.find((s: { id: string }) => s.id === silence.id).timeLeft).toBe(0)
  })

  it('accepts a narrower silence without force, and requires a comment', async () => {
    const narrow = [{ name: 'case', op: '=', value: 'a' }]
    expect(
      (await t.request('POST', '/api/silences', { matchers: narrow, endsAt: endsAt(), comment: 'only a' })).statusCode,
    ).toBe(201)
    const blank = await t.request('POST', '/api/silences', { matchers: narrow, endsAt: endsAt(), comment: '   ' })
    expect(blank.statusCode).toBe(400)
    expect(blank.json().error.message).toMatch(/comment is required/)
    expect((await t.request('POST', '/api/silences', { matchers: narrow, endsAt: endsAt() })).statusCode).toBe(400)
  })
})
