import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { REDACTED, redactLogLine, redactCredentials } from '../../server/infra/http/log-redaction.js'

describe('log line redaction', () => {
  it('leaves a line without secret-named keys exactly as it was', () => {
    const line = `${JSON.stringify({ level: 30, reqId: 'req-1', req: { method: 'POST', url: '/v1/chat/completions' }, tokens: 3, tokenId: 'x', msg: 'incoming request' })}\n`
    expect(redactLogLine(line)).toBe(line)
  })

  it('redacts secret-named keys at every depth, in any case, in arrays and errors', () => {
    const line = `${JSON.stringify({
      level: 40,
      token: 'top-level',
      req: { headers: { authorization: 'Bearer ccp_x', Cookie: 'ccp_session=abc', accept: '*/*' } },
      res: { headers: { 'set-cookie': 'ccp_session=abc' } },
      receivers: [
        { name: 'hook', secret: 's3cret', config: { apiKey: 'k', api_key: 'k2', password: { nested: 'p' } } },
      ],
      err: { type: 'Error', message: 'boom', cause: { Authorization: 'Basic abc' } },
      msg: 'hello',
    })}\n`
    const out = redactLogLine(line)
    expect(out.endsWith('\n')).toBe(true)
    expect(JSON.parse(out)).toEqual({
      level: 40,
      token: REDACTED,
      req: { headers: { authorization: REDACTED, Cookie: REDACTED, accept: '*/*' } },
      res: { headers: { 'set-cookie': REDACTED } },
      receivers: [
        { name: 'hook', secret: REDACTED, config: { apiKey: REDACTED, api_key: REDACTED, password: REDACTED } },
      ],
      err: { type: 'Error', message: 'boom', cause: { Authorization: REDACTED } },
      msg: 'hello',
    })
    for (const secret of ['ccp_x', 'abc', 's3cret', '"k"', 'k2', '"p"', 'top-level']) expect(out).not.toContain(secret)
  })

  it('censors string values after secret-named keys even in a line that is not JSON', () => {
    expect(redactLogLine('partial {"token":"abc\\"def","ok":1')).toBe(`partial {"token":"${REDACTED}","ok":1`)
  })

  it('redacts the values of token query parameters and ccp_ tokens wherever they are in a line', () => {
    const token = `ccp_${'A'.repeat(20)}-_${'b'.repeat(21)}`
    const line = `${JSON.stringify({
      req: { method: 'GET', url: '/api/live?a=1&token=t0p&Access_Token=x%20y&b=2' },
      msg: `printed ${token} somewhere`,
    })}\n`
    const out = redactLogLine(line)
    expect(JSON.parse(out)).toEqual({
      req: { method: 'GET', url: `/api/live?a=1&token=${REDACTED}&Access_Token=${REDACTED}&b=2` },
      msg: `printed ${REDACTED} somewhere`,
    })
    // A token display prefix (ccp_ + 6) is not a token and stays readable.
    const prefix = `${JSON.stringify({ token_prefix_shown: 'ccp_abcdef', msg: 'x' })}\n`
    expect(redactLogLine(prefix)).toBe(prefix)
  })

  it('is what the app’s logger writes through (fastify passes the pino hook on)', () => {
    const lines: string[] = []
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    const app = Fastify({ logger: { level: 'info', stream, hooks: { streamWrite: redactLogLine } } })
    app.log
      .child({ component: 'test' })
      .warn({ receiver: { secret: 'hush' }, headers: { authorization: 'Bearer t' } }, 'with secrets')
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0]!)).toMatchObject({
      component: 'test',
      receiver: { secret: REDACTED },
      headers: { authorization: REDACTED },
      msg: 'with secrets',
    })
  })
})

describe('redactCredentials', () => {
  it.each([
    [
      'Incorrect API key provided: sk-proj-abc123DEF_456-ghi. You can find…',
      'Incorrect API key provided: sk-[redacted]. You can find…',
    ],
    ['masked: sk-proj-****************************abcd.', 'masked: sk-[redacted].'],
    ['header Authorization: Bearer eyJhbGci.e30.sig_x-y rejected', 'header Authorization: Bearer [redacted] rejected'],
    ['authorization: basic dXNlcjpwYXNz', 'authorization: basic [redacted]'],
    ['token ccp_Q2hhdENvbnRyb2xQbGFuZVRva2VuX3Rlc3RfMDAwMDAwMDAw is revoked', 'token ccp_[redacted] is revoked'],
    ['key=AIzaSyA1234567890abcdefghijklmnopqrstu', 'key=AIza[redacted]'],
    ['https://user:hunter2@proxy.example/v1 refused', 'https://user:[redacted]@proxy.example/v1 refused'],
    ['The model `gpt-4o` does not exist', 'The model `gpt-4o` does not exist'],
  ])('%s', (text, redacted) => {
    expect(redactCredentials(text)).toBe(redacted)
  })
})
