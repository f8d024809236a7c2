import { randomUUID } from 'node:crypto'
import { get as httpGet } from 'node:http'
import fc from 'fast-check'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, embedded, real, type TestApp } from '../../helpers/app.js'
import { freePort } from '../../helpers/process.js'

/**
 * Hostile input for every route in the OpenAPI document, over real HTTP to a listening server:
 * fast-check generates path params, queries, headers and bodies (junk, wrong types, the route's
 * own field names with random values, and JSON nested up to 10,000 levels deep or 100,000 keys
 * wide at every position of the route's body). Every route with a body also gets those deep and
 * wide values at each of its fields, deterministically. Every answer must be a response (no
 * reset connection), never a 5xx, and a 4xx must be our `{ error: { code, message } }`; a
 * poller on its own connections checks throughout that the server still answers
 * /health/live; a batch of requests that were all rejected must leave the database exactly as
 * it was.
 *
 * Input handling doesn't depend on the backend, so this runs once, on real Postgres and
 * Redis when they are configured (as in CI) and on the embedded ones otherwise.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261121)
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 200)
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const
const MAX_DEPTH = 10_000
/** 100,000 short keys: about 0.9 MB, under the default 1 MiB body limit. */
const MAX_WIDTH = 100_000
/** How long the liveness poller waits for an answer before it counts the server as gone. */
const LIVENESS_TIMEOUT_MS = 15_000

interface JsonSchema {
  type?: string | string[]
  format?: string
  pattern?: string
  enum?: unknown[]
  minimum?: number
  minLength?: number
  maxLength?: number
  minItems?: number
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  additionalProperties?: boolean | JsonSchema
}

/** A position in a body: property names and array indexes from the root. */
type FieldPath = Array<string | number>

interface Operation {
  method: (typeof METHODS)[number]
  path: string
  /** Its JSON body schema, when it declares one. */
  body: JsonSchema | undefined
  bodyFields: string[]
  /** The root and every field the body schema declares (an `x_extra` one where extra fields are allowed). */
  bodyPaths: FieldPath[]
  queryFields: string[]
  pathParams: Array<{ name: string; schema: JsonSchema }>
}

function operations(doc: {
  paths: Record<string, Record<string, { requestBody?: any; parameters?: any[] }>>
}): Operation[] {
  const ops: Operation[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method]
      if (!op) continue
      const body = op.requestBody?.content?.['application/json']?.schema as JsonSchema | undefined
      const parameters = (op.parameters ?? []) as Array<{ in: string; name: string; schema?: JsonSchema }>
      ops.push({
        method,
        path,
        body,
        bodyFields: Object.keys(body?.properties ?? {}),
        bodyPaths: body ? fieldPaths(body) : [[]],
        queryFields: parameters.filter((p) => p.in === 'query').map((p) => p.name),
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
      })
    }
  }
  return ops
}

function fieldPaths(schema: JsonSchema, at: FieldPath = [], depth = 0): FieldPath[] {
  const paths: FieldPath[] = [at]
  if (depth >= 4) return paths
  for (const branch of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) paths.push(...fieldPaths(branch, at, depth))
  for (const [name, inner] of Object.entries(schema.properties ?? {}))
    paths.push(...fieldPaths(inner, [...at, name], depth + 1))
  if (schema.properties && schema.additionalProperties !== false) paths.push([...at, 'x_extra'])
  if (schema.items) paths.push(...fieldPaths(schema.items, [...at, 0], depth + 1))
  const seen = new Set<string>()
  return paths.filter((p) => !seen.has(JSON.stringify(p)) && seen.add(JSON.stringify(p)))
}

/** Strings that satisfy the patterns the API uses (path params, names, durations, URLs). */
const PATTERN_SAMPLES = [
  'x',
  'abc',
  'a_b',
  'vacuum-analyze',
  '0123456789abcdef',
  '12345',
  '5m',
  'http://127.0.0.1:9/hook',
]

function sampleString(schema: JsonSchema): string {
  if (schema.format === 'uuid') return randomUUID()
  if (schema.format === 'date-time') return new Date(Date.now() + 3_600_000).toISOString()
  const fits = (s: string) =>
    (!schema.pattern || new RegExp(schema.pattern).test(s)) &&
    s.length >= (schema.minLength ?? 0) &&
    s.length <= (schema.maxLength ?? Infinity)
  return PATTERN_SAMPLES.find(fits) ?? 'x'.repeat(Math.max(1, schema.minLength ?? 1))
}

/**
 * The smallest body the schema accepts, near enough: required fields only, the first of each
 * union. A hostile value put into it reaches that field's validation instead of failing on a
 * missing neighbour first.
 */
function skeleton(schema: JsonSchema): unknown {
  const branch = schema.anyOf?.[0] ?? schema.oneOf?.[0]
  if (branch) return skeleton(branch)
  if (schema.enum) return schema.enum[0]
  const type = [schema.type ?? (schema.properties ? 'object' : 'string')].flat()[0]
  switch (type) {
    case 'object':
      return Object.fromEntries(
        (schema.required ?? []).map((name) => [name, skeleton(schema.properties?.[name] ?? {})]),
      )
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => skeleton(schema.items ?? {}))
    case 'integer':
    case 'number':
      return schema.minimum ?? 1
    case 'boolean':
      return true
    case 'null':
      return null
    default:
      return sampleString(schema)
  }
}

const HOLE = '\u0000hostile\u0000'

/** The route's skeleton body with `value` (JSON text) at `path`, as text: JSON.stringify of the value itself would overflow. */
function bodyWith(op: Operation, path: FieldPath, value: string): string {
  if (path.length === 0) return value
  const base = skeleton(op.body ?? {})
  let root: any = base !== null && typeof base === 'object' ? base : {}
  let node = root
  for (const [i, key] of path.entries()) {
    const last = i === path.length - 1
    const next = path[i + 1]
    if (typeof key === 'number' && !Array.isArray(node)) {
      // The parent is not an array in the skeleton (an optional field): make it one.
      node = []
      if (i === 0) root = node
    }
    if (last) node[key] = HOLE
    else {
      const child = node[key]
      const wantsArray = typeof next === 'number'
      node[key] =
        child !== null && typeof child === 'object' && Array.isArray(child) === wantsArray
          ? child
          : wantsArray
            ? []
            : {}
      node = node[key]
    }
  }
  return JSON.stringify(root).replace(JSON.stringify(HOLE), value)
}

type Shape = 'object' | 'array' | 'mixed'

function deepJson(depth: number, shape: Shape): string {
  const open: string[] = []
  const close: string[] = []
  for (let i = 0; i < depth; i++) {
    const array = shape === 'array' || (shape === 'mixed' && i % 2 === 1)
    open.push(array ? '[' : '{"a":')
    close.push(array ? ']' : '}')
  }
  return `${open.join('')}1${close.reverse().join('')}`
}

function wideJson(width: number, shape: Exclude<Shape, 'mixed'>): string {
  const items = Array.from({ length: width }, (_, i) => (shape === 'object' ? `"${i.toString(36)}":0` : '0'))
  return shape === 'object' ? `{${items.join(',')}}` : `[${items.join(',')}]`
}

const junkString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '..',
    '../../etc/passwd',
    '%00',
    'null',
    'undefined',
    "' or 1=1 --",
    '"; drop table api_tokens; --',
    '😀',
    '-1',
    '1e309',
    'NaN',
  ),
  fc.uuid(),
  fc.integer().map(String),
  fc.string({ minLength: 1000, maxLength: 5000 }),
)
const junkValue = fc.oneof(
  junkString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.anything(), { maxLength: 5 }),
  fc.object({ maxDepth: 2 }),
)
/** Deep or wide JSON text: depths and widths at the limits (8/9, 16 KB) and far beyond them. */
const hostileJson = fc.oneof(
  fc
    .record({
      depth: fc.oneof(fc.constantFrom(8, 9, 100, MAX_DEPTH), fc.integer({ min: 1, max: MAX_DEPTH })),
      shape: fc.constantFrom<Shape>('object', 'array', 'mixed'),
    })
    .map(({ depth, shape }) => deepJson(depth, shape)),
  fc
    .record({
      // MAX_WIDTH at every field is in the deterministic sweep; here, widths around the 16 KB limit.
      width: fc.oneof(fc.constantFrom(16_384, 17_000), fc.integer({ min: 1, max: 20_000 })),
      shape: fc.constantFrom<'object' | 'array'>('object', 'array'),
    })
    .map(({ width, shape }) => wideJson(width, shape)),
)

interface Input {
  params: string[]
  query: Record<string, string>
  body: { raw: string; type: string }
  headers: Record<string, string>
}

function requestArbitrary(op: Operation): fc.Arbitrary<Input> {
  const junkParams = fc.array(junkString, { minLength: 4, maxLength: 4 })
  const validParams = fc.constant(null).map(() => op.pathParams.map((p) => sampleString(p.schema)))
  const params = fc.oneof(junkParams, validParams)
  const queryKeys = fc.oneof(
    fc.constantFrom(...(op.queryFields.length ? op.queryFields : ['q'])),
    fc.string({ maxLength: 10 }),
  )
  const query = fc.dictionary(queryKeys, junkString, { maxKeys: 4 })
  const fieldKeys = fc.oneof(
    fc.constantFrom(...(op.bodyFields.length ? op.bodyFields : ['x'])),
    fc.string({ maxLength: 10 }),
  )
  const json = (raw: string) => ({ raw, type: 'application/json' })
  const body = fc.oneof(
    fc.dictionary(fieldKeys, junkValue, { maxKeys: 6 }).map((o) => json(JSON.stringify(o))),
    fc.jsonValue().map((v) => json(JSON.stringify(v))),
    junkString.map(json),
    fc.record({
      raw: junkString,
      type: fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data',
        'application/xml',
        'application/json; charset=utf-16',
        '*/*',
      ),
    }),
    fc
      .record({ at: fc.constantFrom(...op.bodyPaths), value: hostileJson })
      .map(({ at, value }) => json(bodyWith(op, at, value))),
  )
  const headers = fc.dictionary(
    fc.constantFrom(
      'cache-control',
      'accept',
      'accept-encoding',
      'x-request-id',
      'range',
      'if-none-match',
      'last-event-id',
    ),
    junkString.map((s) => s.replace(/[^\t\x20-\x7e]/g, '').trim()),
    { maxKeys: 3 },
  )
  return fc.record({ params, query, body, headers })
}

function concretePath(op: Operation, params: string[]): string {
  let i = 0
  return op.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(params[i++ % Math.max(params.length, 1)] || 'x'))
}

/**
 * Written by background work, not by requests: job runs that earlier accepted requests started
 * (optimize and run-now answer 202 and finish later), and the alert evaluation loop.
 */
const BACKGROUND_TABLES = new Set(['job_runs', 'alert_states', 'alert_events', 'notification_outbox'])

async function fingerprint(t: TestApp): Promise<Record<string, string>> {
  const db = t.app.db
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE' and table_name not like 'kysely_%'
    order by table_name`.execute(db)
  const result: Record<string, string> = {}
  for (const { table_name } of tables.rows) {
    if (BACKGROUND_TABLES.has(table_name)) continue
    // last_used_at moves whenever a token is used (that is its job); everything else must not.
    const row =
      table_name === 'api_tokens'
        ? await sql<{
            f: string
          }>`select count(*) || ':' || md5(coalesce(string_agg(id::text || name || role || coalesce(revoked_at::text, ''), ',' order by id), '')) as f from api_tokens`.execute(
            db,
          )
        : await sql<{
            f: string
          }>`select count(*) || ':' || md5(coalesce(string_agg(t::text, ',' order by t::text), '')) as f from ${sql.table(table_name)} as t`.execute(
            db,
          )
    result[table_name] = row.rows[0]!.f
  }
  return result
}

/**
 * GET /health/live every `everyMs`, each on a new connection (agent: false), so that it proves
 * the server still accepts connections, not only that a kept-alive one still works.
 */
function startLivenessPoller(baseUrl: string, everyMs = 250) {
  const failures: string[] = []
  let answered = 0
  let stopped = false
  const once = () =>
    new Promise<void>((resolve) => {
      const started = Date.now()
      const req = httpGet(`${baseUrl}/health/live`, { agent: false, timeout: LIVENESS_TIMEOUT_MS }, (res) => {
        res.resume()
        if (res.statusCode === 200) answered++
        else failures.push(`GET /health/live answered ${res.statusCode} at +${Date.now() - started} ms`)
        res.on('end', resolve)
      })
      req.on('timeout', () => req.destroy(new Error(`no answer within ${LIVENESS_TIMEOUT_MS} ms`)))
      req.on('error', (err) => {
        failures.push(`GET /health/live failed: ${err.message}`)
        resolve()
      })
    })
  const loop = (async () => {
    while (!stopped) {
      await once()
      await new Promise((r) => setTimeout(r, everyMs))
    }
  })()
  return {
    failures,
    get answered() {
      return answered
    },
    async stop() {
      stopped = true
      await loop
    },
  }
}

/** One request over HTTP; a 5xx, a reset connection or a 4xx that is not our error shape throws. */
async function send(
  baseUrl: string,
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<number> {
  const label = `${method} ${url.slice(0, 120)}${body === undefined ? '' : ` (${body.length} bytes: ${body.slice(0, 80)}…)`}`
  let res: Response
  try {
    res = await fetch(`${baseUrl}${url}`, { method, headers, body })
  } catch (err) {
    throw new Error(`${label} got no answer: ${String((err as Error).cause ?? err)}`)
  }
  const text = await res.text()
  if (res.status >= 500) throw new Error(`${label} → ${res.status} ${text.slice(0, 200)}`)
  if (res.status >= 400) {
    let error: { code?: unknown; message?: unknown } | undefined
    try {
      error = JSON.parse(text).error
    } catch {
      // not JSON: reported below
    }
    if (typeof error?.code !== 'string' || typeof error.message !== 'string' || !error.message)
      throw new Error(`${label} → ${res.status} without an error code and message: ${text.slice(0, 200)}`)
  }
  return res.status
}

describe(`hostile input on every documented route (seed ${SEED}, ${RUNS_PER_ROUTE} cases per route)`, () => {
  let t: TestApp
  let ops: Operation[]
  let baseUrl: string
  let liveness: ReturnType<typeof startLivenessPoller>
  beforeAll(async () => {
    console.log(`hostile-input fuzz: seed ${SEED} (reproduce with FUZZ_SEED=${SEED})`)
    t = await createTestApp(real ?? embedded, {
      env: {
        JOBS_ENABLED: 'false',
        SAMPLE_INTERVAL_MS: '60000',
        SIM_FIRST_TOKEN_MS: '0',
        SIM_TOKENS_PER_SECOND: '100000',
        SIGNIN_RATE_LIMIT_PER_MINUTE: '10000',
      },
    })
    const port = await freePort()
    await t.app.listen({ host: '127.0.0.1', port })
    baseUrl = `http://127.0.0.1:${port}`
    ops = operations(t.app.swagger() as never)
    liveness = startLivenessPoller(baseUrl)
  })
  afterAll(async () => {
    await liveness?.stop()
    await t?.close()
  })

  it('documents the routes it fuzzes, and builds bodies they accept', async () => {
    expect(ops.length).toBeGreaterThan(10)
    const withBody = ops.filter((op) => op.body)
    expect(withBody.length).toBeGreaterThan(10)
    // The skeleton of a body passes its validation (else deep values would only meet "required" errors).
    const session = await send(
      baseUrl,
      'POST',
      '/api/sessions',
      json(t),
      bodyWith(ops.find(isOp('post', '/api/sessions'))!, [], '{}'),
    )
    expect(session).toBe(201)
    const completion = ops.find(isOp('post', '/v1/chat/completions'))!
    expect(completion.bodyPaths).toContainEqual(['messages', 0, 'x_extra'])
    expect(
      await send(baseUrl, 'POST', '/v1/chat/completions', json(t), JSON.stringify(skeleton(completion.body!))),
    ).toBe(200)
  })

  it('never answers 5xx or drops a connection, answers 4xx with our error, stays up, and rejected batches change nothing', async () => {
    const failures: string[] = []
    const changedWhileRejecting: string[] = []
    for (const op of ops) {
      const method = op.method.toUpperCase()
      const before = await fingerprint(t)
      let accepted = 0
      const count = (status: number) => {
        if (status < 400) accepted++
      }

      // Deep and wide JSON at every position of the body (the root for routes without a body schema).
      if (op.method !== 'get') {
        const url = concretePath(
          op,
          op.pathParams.map((p) => sampleString(p.schema)),
        )
        for (const at of op.bodyPaths) {
          const values = [deepJson(MAX_DEPTH, 'object'), deepJson(MAX_DEPTH, 'array'), deepJson(9, 'mixed')]
          if (at.length <= 1) values.push(wideJson(MAX_WIDTH, 'object'), wideJson(MAX_WIDTH, 'array'))
          for (const value of values) {
            try {
              count(await send(baseUrl, method, url, json(t), bodyWith(op, at, value)))
            } catch (err) {
              failures.push(`${(err as Error).message} [at ${JSON.stringify(at)}]`)
            }
          }
        }
      }

      const run = await fc.check(
        fc.asyncProperty(requestArbitrary(op), async (input) => {
          const query = new URLSearchParams(input.query).toString()
          const url = `${concretePath(op, input.params)}${query ? `?${query}` : ''}`
          const withBody = op.method !== 'get'
          const headers = { ...input.headers, ...t.auth(), ...(withBody ? { 'content-type': input.body.type } : {}) }
          count(await send(baseUrl, method, url, headers, withBody ? input.body.raw : undefined))
        }),
        { seed: SEED, numRuns: RUNS_PER_ROUTE, endOnFailure: true },
      )
      if (run.failed) failures.push(`${method} ${op.path}: ${String(run.errorInstance ?? 'failed')}`.slice(0, 2_000))

      if (accepted === 0) {
        const after = await fingerprint(t)
        const changed = Object.keys({ ...before, ...after }).filter((table) => before[table] !== after[table])
        if (changed.length) changedWhileRejecting.push(`${method} ${op.path} changed ${changed.join(', ')}`)
      }
    }
    await liveness.stop()
    expect(failures).toEqual([])
    expect(changedWhileRejecting).toEqual([])
    expect(liveness.failures).toEqual([])
    expect(liveness.answered, 'the liveness poller got answers throughout').toBeGreaterThan(10)
  }, 900_000)
})

const json = (t: TestApp) => ({ ...t.auth(), 'content-type': 'application/json' })
const isOp = (method: string, path: string) => (op: Operation) => op.method === method && op.path === path
