import { readFileSync } from 'node:fs'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { parse } from 'yaml'

const Name = Type.String({ pattern: '^[a-z0-9-]+$', minLength: 1, maxLength: 63 })

const UpstreamEntry = Type.Object(
  {
    name: Name,
    provider: Type.Optional(Type.Union([Type.Literal('openai'), Type.Literal('simulated')])),
    base_url: Type.Optional(Type.String({ pattern: '^https?://' })),
    api_key: Type.Optional(Type.String()),
    weight: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1_000 })),
    max_concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
  },
  { additionalProperties: false },
)

export const STRATEGIES = ['round-robin', 'least-busy', 'latency'] as const
export type Strategy = (typeof STRATEGIES)[number]

const ModelEntry = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    strategy: Type.Optional(Type.Union(STRATEGIES.map((s) => Type.Literal(s)))),
    deployments: Type.Array(
      Type.Object({ upstream: Name, model: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
)

const PoolFileSchema = Type.Object(
  {
    upstreams: Type.Array(UpstreamEntry, { minItems: 1 }),
    models: Type.Optional(Type.Array(ModelEntry)),
  },
  { additionalProperties: false },
)

export type UpstreamSpec = Static<typeof UpstreamEntry> & { provider: 'openai' | 'simulated'; weight: number }
export interface PublicModel {
  name: string
  strategy: Strategy
  deployments: Array<{ upstream: string; model: string }>
}
export interface PoolSpec {
  upstreams: UpstreamSpec[]
  models: PublicModel[]
}

/** `${VAR}` from the environment; an unset variable is an error (a key silently empty would fail later, less clearly). */
function expand(value: string, env: NodeJS.ProcessEnv, where: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const found = env[name]
    if (found === undefined) throw new Error(`${where}: \${${name}} is not set in the environment`)
    return found
  })
}

/** UPSTREAMS_FILE's text → the pool it describes; every mistake is an error naming the file and the place. */
export function parsePoolFile(text: string, source = 'UPSTREAMS_FILE', env = process.env): PoolSpec {
  const doc: unknown = parse(text)
  if (!Value.Check(PoolFileSchema, doc)) {
    const first = [...Value.Errors(PoolFileSchema, doc)][0]
    throw new Error(`${source}: ${first ? `${first.path || '/'} ${first.message}` : 'not a pool file'}`)
  }
  const names = new Set<string>()
  const upstreams = doc.upstreams.map((u): UpstreamSpec => {
    if (names.has(u.name)) throw new Error(`${source}: upstream ${u.name} is listed twice`)
    names.add(u.name)
    const provider = u.provider ?? 'openai'
    if (provider === 'openai' && !u.base_url) throw new Error(`${source}: upstream ${u.name} needs a base_url`)
    return {
      ...u,
      provider,
      weight: u.weight ?? 1,
      ...(u.base_url ? { base_url: u.base_url.replace(/\/$/, '') } : {}),
      ...(u.api_key === undefined ? {} : { api_key: expand(u.api_key, env, `${source}: ${u.name}.api_key`) }),
    }
  })
  const publicNames = new Set<string>()
  const models = (doc.models ?? []).map((m): PublicModel => {
    if (publicNames.has(m.name)) throw new Error(`${source}: model ${m.name} is listed twice`)
    publicNames.add(m.name)
    for (const d of m.deployments)
      if (!names.has(d.upstream)) throw new Error(`${source}: model ${m.name} names unknown upstream ${d.upstream}`)
    return { name: m.name, strategy: m.strategy ?? 'round-robin', deployments: m.deployments }
  })
  return { upstreams, models }
}

export function readPoolFile(file: string): PoolSpec {
  return parsePoolFile(readFileSync(file, 'utf8'), file)
}
