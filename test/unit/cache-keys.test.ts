import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { baseNamespace, isNamespace, sha256Hex } from '../../server/cache/keys.js'
import { aiResponseIdentity, normalizeText } from '../../server/chat/identity.js'

const identity = (overrides: Partial<Parameters<typeof aiResponseIdentity>[0]> = {}) =>
  sha256Hex(
    aiResponseIdentity({
      scope: 'project:alpha',
      provider: 'simulated',
      model: 'm',
      messages: [{ role: 'user', content: 'Hello world' }],
      params: {},
      ...overrides,
    }),
  )

describe('cache keys', () => {
  it('normalizes text: trimmed, every run of whitespace one space', () => {
    expect(normalizeText('  Hello \n\t world  ')).toBe('Hello world')
    expect(normalizeText('')).toBe('')
  })

  it('normalizing twice changes nothing', () => {
    fc.assert(fc.property(fc.string(), (s) => normalizeText(normalizeText(s)) === normalizeText(s)))
  })

  it('gives prompts that differ only in whitespace the same key', () => {
    expect(identity({ messages: [{ role: 'user', content: '\n Hello   world ' }] })).toBe(identity())
  })

  it('separates scope (null: the shared cache), provider, model, role, content and each sampling parameter', () => {
    const base = identity()
    const variants = [
      identity({ scope: 'project:beta' }),
      identity({ scope: 'token:00000000-0000-4000-8000-000000000000' }),
      identity({ scope: null }),
      identity({ provider: 'openai' }),
      identity({ model: 'other' }),
      identity({ messages: [{ role: 'system', content: 'Hello world' }] }),
      identity({ messages: [{ role: 'user', content: 'Hello worlds' }] }),
      identity({
        messages: [
          { role: 'user', content: 'Hello world' },
          { role: 'user', content: '' },
        ],
      }),
      identity({ params: { temperature: 0 } }),
      identity({ params: { top_p: 0.5 } }),
      identity({ params: { max_tokens: 10 } }),
      identity({ params: { stop: ['x'] } }),
      identity({ params: { presence_penalty: 1 } }),
      identity({ params: { frequency_penalty: 1 } }),
      identity({ params: { seed: 1 } }),
    ]
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1)
  })

  it('does not depend on the order sampling parameters were given in', () => {
    expect(identity({ params: { temperature: 0.2, max_tokens: 5 } })).toBe(
      identity({ params: { max_tokens: 5, temperature: 0.2 } }),
    )
  })

  it('is a SHA-256 in hex', () => {
    expect(identity()).toMatch(/^[0-9a-f]{64}$/)
  })

  it('accepts configured namespaces and their sub-namespaces only', () => {
    expect(isNamespace('ai_response')).toBe(true)
    expect(isNamespace('ai_response:team-a')).toBe(true)
    expect(isNamespace('models')).toBe(true)
    expect(isNamespace('ratelimit')).toBe(false)
    expect(isNamespace('ai_response:*')).toBe(false)
    expect(isNamespace('ai_response:a:b')).toBe(false)
    expect(baseNamespace('ai_response:team-a')).toBe('ai_response')
    expect(() => baseNamespace('nope')).toThrow()
  })
})
