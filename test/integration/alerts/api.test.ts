import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import type { AlertEvent } from '../../../server/alerts/evaluation/alert-event.js'
import { backends } from '../../helpers/app.js'
import { useAlertingApp } from '../../helpers/alerts.js'

describe.each(backends)('alerting API ($name)', (backend) => {
  // Sampled time runs at least as fast as real time, so silences made "now" apply to the next tick.
  const alerting = useAlertingApp(backend)
  const { t, fire, tick } = alerting
  let viewer: string
  beforeAll(async () => {
    viewer = (await t.app.tokens.create({ name: 'viewer', role: 'viewer', createdBy: 'test' })).secret
  })

  it('seeds the rules of ALERT_RULES_FILE with their defaults', async () => {
    const res = await t.request('GET', '/api/alerts/rules')
    expect(res.statusCode).toBe(200)
    expect(res.json().rules).toEqual([
      {
        name: 'TestHigh',
        signal: 'test_signal',
        matchers: {},
        op: '>',
        threshold: 1,
        for: '0s',
        keepFiringFor: '0s',
        repeatInterval: '4h',
        severity: 'warning',
        labels: {},
        annotations: { summary: '{{ $labels.case }} is at {{ $value }}' },
        enabled: true,
      },
    ])
  })

  it('creates, reads, replaces and deletes a rule, audit-logged', async () => {
    const rule = {
      name: 'Busy',
      signal: 'http_requests_per_second',
      op: '>',
      threshold: 100,
      for: '1m',
      severity: 'info',
    }
    const created = await t.request('POST', '/api/alerts/rules', rule)
    expect(created.statusCode).toBe(201)
    expect(created.json().rule).toMatchObject({ ...rule, keepFiringFor: '0s', enabled: true })
    expect((await t.request('POST', '/api/alerts/rules', rule)).statusCode).toBe(409)

    const replaced = await t.request('PUT', '/api/alerts/rules/Busy', { ...rule, threshold: 200 })
    expect(replaced.statusCode).toBe(200)
    expect((await t.request('GET', '/api/alerts/rules/Busy')).json().rule.threshold).toBe(200)

    expect((await t.request('DELETE', '/api/alerts/rules/Busy')).statusCode).toBe(200)
    expect((await t.request('GET', '/api/alerts/rules/Busy')).statusCode).toBe(404)
    expect((await t.request('DELETE', '/api/alerts/rules/Busy')).statusCode).toBe(404)

    const audit = await t.request('GET', '/api/audit?limit=20')
    const actions = audit
      .json()
      .entries.filter((e: { target: string }) => e.target === 'Busy')
      .map((e: { action: string }) => e.action)
    expect(actions).toEqual(['alert_rule.delete', 'alert_rule.update', 'alert_rule.create'])
  })

  it('rejects a bad rule with a 400 that points at the field', async () => {
    const base = { name: 'Bad', signal: 'x', op: '>', threshold: 1, severity: 'info' }
    const cases: Array<[unknown, string]> = [
      [{ ...base, for: 'soon' }, 'body/for must be a duration like 30s, 5m or 1h30m'],
      [{ ...base, op: '=>' }, 'body/op must be one of ">", ">=", "<", "<=", "==", "!="'],
      [{ ...base, threshold: 'high' }, 'body/threshold must be a number'],
      [{ ...base, annotations: { summary: '{{ $nope }}' } }, 'body/annotations/summary uses {{ $nope }}'],
      [{ ...base, colour: 'red' }, 'body/colour is not a known field'],
      [{ name: 'Bad' }, 'body/signal is required'],
      ['not an object', 'body must be an object'],
    ]
    for (const [payload, message] of cases) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/alerts/rules',
        headers: { ...t.auth(), 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      })
      expect(res.statusCode, message).toBe(400)
      expect(res.json().error.code).toBe('validation_error')
      expect(res.json().error.message).toContain(message)
    }
    const renamed = await t.request('PUT', '/api/alerts/rules/TestHigh', { ...base, name: 'Other' })
    expect(renamed.statusCode).toBe(400)
    expect(renamed.json().error.message).toContain('body/name must be TestHigh')
    expect((await t.request('GET', '/api/alerts/rules/not-a-name!')).statusCode).toBe(400)
  })

  it('lets a viewer read but not change alerting', async () => {
    for (const url of [
      '/api/alerts',
      '/api/alerts/history',
      '/api/alerts/rules',
      '/api/silences',
      '/api/alerts/receivers',
      '/api/alerts/notifications',
    ]) {
      expect((await t.request('GET', url, undefined, { token: viewer })).statusCode, url).toBe(200)
    }
    expect(
      (
        await t.request(
          'POST',
          '/api/alerts/rules',
          { name: 'V', signal: 'x', op: '>', threshold: 1, severity: 'info' },
          { token: viewer },
        )
      ).statusCode,
    ).toBe(403)
    expect(
      (
        await t.request(
          'POST',
          '/api/silences',
          {
            matchers: [{ name: 'a', op: '=', value: 'b' }],
            endsAt: new Date(Date.now() + 60_000).toISOString(),
            comment: 'x',
          },
          { token: viewer },
        )
      ).statusCode,
    ).toBe(403)
    expect((await t.app.inject({ method: 'GET', url: '/api/alerts' })).statusCode).toBe(401)
  })

  it('shows a firing alert, takes an acknowledgement, records the history and resolves', async () => {
    const events: AlertEvent[] = []
    const listener = (e: AlertEvent) => events.push(e)
    t.app.events.on('alert', listener)
    const firedAt = await fire('lifecycle', 5)

    const [alert] = (await t.request('GET', '/api/alerts')).json().alerts
    expect(alert).toMatchObject({
      rule: 'TestHigh',
      state: 'firing',
      severity: 'warning',
      value: 5,
      labels: { alertname: 'TestHigh', case: 'lifecycle', severity: 'warning' },
      annotations: { summary: 'lifecycle is at 5' },
      silenced: false,
      acknowledged: null,
    })
    expect(new Date(alert.since).getTime()).toBe(firedAt)
    const gauge = await t.app.metrics.alertsActive.get()
    expect(gauge.values).toEqual([
      { labels: { alertname: 'TestHigh', severity: 'warning', state: 'firing' }, value: 1 },
    ])

    const ack = await t.request('POST', `/api/alerts/${alert.fingerprint}/ack`, { comment: 'looking into it' })
    expect(ack.statusCode).toBe(200)
    expect(ack.json().alert.acknowledged).toMatchObject({ by: 'ADMIN_TOKEN', comment: 'looking into it' })
    // An evaluation after the ack keeps it.
    await tick()
    expect((await t.request('GET', '/api/alerts')).json().alerts[0].acknowledged.by).toBe('ADMIN_TOKEN')

    await fire('lifecycle', 0)
    expect((await t.request('GET', '/api/alerts')).json().alerts).toEqual([])
    expect((await t.app.metrics.alertsActive.get()).values).toEqual([])

    const history = (await t.request('GET', `/api/alerts/history?fingerprint=${alert.fingerprint}`)).json().events
    expect(history.map((e: { from: string; to: string }) => `${e.from}→${e.to}`)).toEqual([
      'firing→resolved',
      'firing→acknowledged',
      'inactive→firing',
    ])
    expect(history[1].detail).toEqual({ by: 'ADMIN_TOKEN', comment: 'looking into it' })
    expect(events.map((e) => e.to)).toEqual(['firing', 'acknowledged', 'resolved'])
    t.app.events.off('alert', listener)

    // Keyset pagination walks the same events one by one.
    const seen: string[] = []
    let before: string | null = null
    do {
      const page: { events: Array<{ to: string }>; nextBefore: string | null } = (
        await t.request(
          'GET',
          `/api/alerts/history?fingerprint=${alert.fingerprint}&limit=1${before ? `&before=${before}` : ''}`,
        )
      ).json()
      seen.push(...page.events.map((e) => e.to))
      before = page.nextBefore
    } while (before)
    expect(seen).toEqual(['resolved', 'acknowledged', 'firing'])
    const resolvedOnly = (await t.request('GET', '/api/alerts/history?state=resolved&rule=TestHigh')).json().events
    expect(resolvedOnly.every((e: { to: string }) => e.to === 'resolved')).toBe(true)
  })

  it('answers 404 for acknowledging an alert that is not active and 400 for a malformed fingerprint', async () => {
    expect((await t.request('POST', '/api/alerts/0123456789abcdef/ack', { comment: 'x' })).statusCode).toBe(404)
    expect((await t.request('POST', '/api/alerts/nothex/ack', { comment: 'x' })).statusCode).toBe(400)
    expect((await t.request('POST', '/api/alerts/0123456789abcdef/ack', {})).statusCode).toBe(400)
    expect((await t.request('GET', '/api/alerts/history?since=yesterday')).statusCode).toBe(400)
  })

  it('manages silences and shows which alerts they silence', async () => {
    const endsAt = new Date(Date.now() + 3_600_000).toISOString()
    const bad = await t.request('POST', '/api/silences', {
      matchers: [{ name: 'case', op: '=~', value: '(' }],
      endsAt,
      comment: 'x',
    })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.message).toContain('body/matchers/0/value is not a valid regular expression')
    const backwards = await t.request('POST', '/api/silences', {
      matchers: [{ name: 'case', op: '=', value: 'x' }],
      startsAt: endsAt,
      endsAt: new Date().toISOString(),
      comment: 'x',
    })
    expect(backwards.statusCode).toBe(400)
    expect((await t.request('POST', '/api/silences', { matchers: [], endsAt, comment: 'x' })).statusCode).toBe(400)

    const created = await t.request('POST', '/api/silences', {
      matchers: [{ name: 'case', op: '=~', value: 'silenced|other' }],
      endsAt,
      comment: 'maintenance',
    })
    expect(created.statusCode).toBe(201)
    const silence = created.json().silence
    expect(silence).toMatchObject({ status: 'active', createdBy: 'ADMIN_TOKEN', comment: 'maintenance' })

    await fire('silenced', 3)
    const [alert] = (await t.request('GET', '/api/alerts')).json().alerts
    expect(alert).toMatchObject({ state: 'firing', silenced: true, silencedBy: [silence.id], lastNotifiedAt: null })

    const updated = await t.request('PUT', `/api/silences/${silence.id}`, {
      matchers: [{ name: 'case', op: '=', value: 'other' }],
      endsAt,
      comment: 'narrower',
    })
    expect(updated.json().silence.comment).toBe('narrower')
    expect((await t.request('GET', '/api/alerts')).json().alerts[0].silenced).toBe(false)

    const expired = await t.request('DELETE', `/api/silences/${silence.id}`)
    expect(expired.json().silence.status).toBe('expired')
    expect(
      (await t.request('GET', '/api/silences?status=expired')).json().silences.map((s: { id: string }) => s.id),
    ).toContain(silence.id)
    expect(
      (await t.request('GET', '/api/silences?status=active')).json().silences.map((s: { id: string }) => s.id),
    ).not.toContain(silence.id)
    expect((await t.request('GET', `/api/silences/${crypto.randomUUID()}`)).statusCode).toBe(404)
    await fire('silenced', 0)
  })

  it('keeps receiver secrets write-only', async () => {
    const secret = 'receiver-secret-value-123'
    const created = await t.request('POST', '/api/alerts/receivers', {
      name: 'ops',
      url: 'https://user:pw@hooks.example.com/x?token=abc',
      secret,
      severities: ['critical'],
    })
    expect(created.statusCode).toBe(201)
    const receiver = created.json().receiver
    expect(receiver).toMatchObject({
      name: 'ops',
      kind: 'webhook',
      format: 'alertmanager',
      hasSecret: true,
      severities: ['critical'],
      sendResolved: true,
      groupBy: ['alertname'],
      groupWait: '0s',
      source: 'api',
    })
    expect(receiver.url).toBe('https://hooks.example.com/…')
    expect(created.body).not.toContain(secret)
    const listed = await t.request('GET', '/api/alerts/receivers')
    expect(listed.body).not.toContain(secret)
    expect(listed.body).not.toContain('"secret"')

    const kept = await t.request('PUT', `/api/alerts/receivers/${receiver.id}`, {
      name: 'ops',
      url: 'https://hooks.example.com/y',
      groupWait: '30s',
    })
    expect(kept.json().receiver).toMatchObject({ hasSecret: true, groupWait: '30s', severities: [] })
    const cleared = await t.request('PUT', `/api/alerts/receivers/${receiver.id}`, {
      name: 'ops',
      url: 'https://hooks.example.com/y',
      secret: null,
    })
    expect(cleared.json().receiver.hasSecret).toBe(false)

    const audit = (await t.request('GET', '/api/audit?limit=10&action=alert_receiver.create')).json().entries[0]
    expect(JSON.stringify(audit)).not.toContain(secret)
    expect(
      (await t.request('POST', '/api/alerts/receivers', { name: 'ops', url: 'https://a.example.com' })).statusCode,
    ).toBe(409)
    expect(
      (await t.request('POST', '/api/alerts/receivers', { name: 'x', url: 'ftp://a.example.com' })).statusCode,
    ).toBe(400)
    expect(
      (
        await t.request('POST', '/api/alerts/receivers', {
          name: 'x',
          kind: 'alertmanager',
          format: 'slack',
          url: 'https://a.example.com',
        })
      ).statusCode,
    ).toBe(400)
    expect(
      (
        await t.request('POST', '/api/alerts/receivers', {
          name: 'x',
          url: 'https://a.example.com',
          groupWait: 'later',
        })
      ).statusCode,
    ).toBe(400)
    expect((await t.request('DELETE', `/api/alerts/receivers/${receiver.id}`)).statusCode).toBe(200)
    expect((await t.request('GET', `/api/alerts/receivers/${receiver.id}`)).statusCode).toBe(404)
  })

  it('backtests a rule over the in-memory series', async () => {
    const times: number[] = []
    for (const value of [0, 5, 5, 5, 0, 0]) {
      alerting.signal.set(value, { case: 'preview' })
      times.push(await tick())
    }
    const res = await t.request('POST', '/api/alerts/rules/preview', {
      rule: {
        name: 'Preview',
        signal: 'test_signal',
        matchers: { case: 'preview' },
        op: '>',
        threshold: 1,
        for: '1s',
        severity: 'info',
      },
      minutes: 5,
    })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.signalFound).toBe(true)
    expect(body.firing).toHaveLength(1)
    const { firedAt, resolvedAt } = body.firing[0]
    // Pending at the first 5, firing one second (`for`) later... at the third tick, resolved at the next 0.
    expect([new Date(firedAt).getTime(), new Date(resolvedAt).getTime()]).toEqual([times[2], times[4]])
    expect(body.transitions.map((t: { to: string }) => t.to)).toEqual(['pending', 'firing', 'resolved'])

    const bad = await t.request('POST', '/api/alerts/rules/preview', {
      rule: { name: 'P', signal: 'x', op: '>', threshold: 1, severity: 'info', for: 'x' },
    })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.message).toContain('body/rule/for must be a duration')
    expect((await t.request('POST', '/api/alerts/rules/preview', { minutes: 5 })).json().error.message).toContain(
      'body/rule is required',
    )
  })

  it('answers any malformed body or query with a 4xx, never a 500', async () => {
    const bodies = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          name: fc.string(),
          signal: fc.string(),
          op: fc.string(),
          threshold: fc.oneof(fc.double(), fc.string()),
          severity: fc.string(),
          for: fc.string(),
        },
        { requiredKeys: [] },
      ),
      fc.record(
        {
          matchers: fc.array(
            fc.record({ name: fc.string(), op: fc.constantFrom('=', '=~', '!~', 'x'), value: fc.string() }),
          ),
          endsAt: fc.string(),
          comment: fc.string(),
        },
        { requiredKeys: [] },
      ),
      fc.record(
        {
          name: fc.string(),
          url: fc.oneof(fc.webUrl(), fc.string()),
          secret: fc.option(fc.string()),
          groupWait: fc.string(),
          groupBy: fc.array(fc.string()),
        },
        { requiredKeys: [] },
      ),
    )
    const targets = [
      '/api/alerts/rules',
      '/api/alerts/rules/preview',
      '/api/silences',
      '/api/alerts/receivers',
      '/api/alerts/0123456789abcdef/ack',
    ]
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), bodies, async (url, body) => {
        const res = await t.app.inject({
          method: 'POST',
          url,
          headers: { ...t.auth(), 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        })
        expect(res.statusCode, `${url} ${JSON.stringify(body)} → ${res.body}`).toBeLessThan(500)
      }),
      { numRuns: 150 },
    )
    const queries = fc.dictionary(
      fc.constantFrom('limit', 'before', 'since', 'until', 'state', 'rule', 'fingerprint', 'status'),
      fc.string(),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/alerts/history', '/api/alerts/notifications', '/api/silences', '/api/alerts'),
        queries,
        async (path, query) => {
          const res = await t.app.inject({ method: 'GET', url: path, query, headers: t.auth() })
          expect(res.statusCode, `${path}?${new URLSearchParams(query)} → ${res.body}`).toBeLessThan(500)
        },
      ),
      { numRuns: 150 },
    )
  })
})
