import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ConfigError, EnvSchema, loadConfig } from '../../server/config.js'

const variables = Object.keys(EnvSchema.properties)

describe('loadConfig', () => {
  it('gives working defaults for an empty environment', () => {
    const config = loadConfig({})
    expect(config.host).toBe('127.0.0.1')
    expect(config.port).toBe(3000)
    expect(config.database.url).toBeUndefined()
    expect(config.database.poolSize).toBe(10)
    expect(config.redis.url).toBeUndefined()
    expect(config.cachePrefix).toBe('ccp:')
    expect(config.bodyLimitBytes).toBe(1_048_576)
    expect(config.dataDir).toMatch(/data$/)
  })

  it('converts strings from the environment to typed values', () => {
    const config = loadConfig({
      PORT: '8080',
      TRUST_PROXY: 'true',
      SIM_ERROR_RATE: '0.25',
      DATABASE_URL: 'postgres://u@h:5432/db',
    })
    expect(config.port).toBe(8080)
    expect(config.trustProxy).toBe(1) // true, from older configurations, is one hop
    expect(config.chat.simulated.errorRate).toBe(0.25)
    expect(config.database.url).toBe('postgres://u@h:5432/db')
  })

  it.each([
    [{ PORT: 'eighty' }, /PORT="eighty" — expected an integer/],
    [{ PORT: '70000' }, /PORT="70000" — expected an integer >= 0 <= 65535/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL="loud" — expected one of "fatal"/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL="mysql:\/\/x" — expected a string matching/],
    [{ ADMIN_TOKEN: 'short' }, /ADMIN_TOKEN="short" — expected a string of at least 32 characters/],
    [{ SIM_ERROR_RATE: '2' }, /SIM_ERROR_RATE="2" — expected a number >= 0 <= 1/],
    [{ CACHE_PREFIX: 'has space' }, /CACHE_PREFIX="has space"/],
  ])('rejects %o with one line naming the variable', (env, message) => {
    let error: unknown
    try {
      loadConfig(env)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    const text = (error as Error).message
    expect(text).toMatch(message)
    expect(text.split('\n')).toHaveLength(1)
  })

  it('reads TRUST_PROXY as proxy addresses or a number of hops, never "trust everything"', () => {
    expect(loadConfig({}).trustProxy).toBe(0)
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(0)
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2)
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, ::1,uniquelocal' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '::1',
      'uniquelocal',
    ])
    for (const value of ['all', '10.0.0.0/33', '10.0.0.1/8/1', 'proxy.internal']) {
      expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(
        new RegExp(`^Invalid configuration: TRUST_PROXY=.* is not an IP address, a CIDR range or one of loopback`),
      )
    }
  })

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).database.url).toBeUndefined()
  })
})

describe('configuration documentation', () => {
  it('lists every variable in .env.example', () => {
    const example = readFileSync('.env.example', 'utf8')
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]))
    expect(variables.filter((v) => !documented.has(v))).toEqual([])
    expect([...documented].filter((v) => !variables.includes(v!))).toEqual([])
  })

  it('lists every variable in the README configuration table', () => {
    const readme = readFileSync('README.md', 'utf8')
    const documented = new Set([...readme.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]))
    expect(variables.filter((v) => !documented.has(v))).toEqual([])
  })
})
