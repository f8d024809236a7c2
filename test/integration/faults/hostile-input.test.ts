import fc from 'fast-check'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, embedded, real, type TestApp } from '../../helpers/app.js'

/**
 * Hostile input for every route in the OpenAPI document: fast-check generates path params,
 * queries, headers and bodies (junk, wrong types, and the route's own field names with
 * random values). No response may be a 5xx, the process must stay up, and a batch of
 * requests that were all rejected must leave the database exactly as it was.
 *
 * Input handling doesn't depend on the backend, so this runs once, on real Postgres and
 * Redis when they are configured (as in CI) and on the embedded ones otherwise.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261121)
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 200)
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

interface Operation {
  method: (typeof METHODS)[number]
  path: string
  bodyFields: string[]
  queryFields: string[]
}

function operations(doc: {
  paths: Record<string, Record<string, { requestBody?: any; parameters?: any[] }>>
}): Operation[] {
  const ops: Operation[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method]
      if (!op) continue
      const schema = op.requestBody?.content?.['application/json']?.schema
      ops.push({
        method,
        path,
        bodyFields: Object.keys(schema?.properties ?? {}),
        queryFields: (op.parameters ?? [])
          .filter((p: { in: string }) => p.in === 'query')
          .map((p: { name: string }) => p.name),
      })
    }
  }
  return ops
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

function requestArbitrary(op: Operation) {
  const params = fc.array(junkString, { minLength: 4, maxLength: 4 })
  const queryKeys = fc.oneof(
    fc.constantFrom(...(op.queryFields.length ? op.queryFields : ['q'])),
    fc.string({ maxLength: 10 }),
  )
  const query = fc.dictionary(queryKeys, junkString, { maxKeys: 4 })
  const fieldKeys = fc.oneof(
    fc.constantFrom(...(op.bodyFields.length ? op.bodyFields : ['x'])),
    fc.string({ maxLength: 10 }),
  )
  const body = fc.oneof(
    fc
      .dictionary(fieldKeys, junkValue, { maxKeys: 6 })
      .map((o) => ({ raw: JSON.stringify(o), type: 'application/json' })),
    fc.jsonValue().map((v) => ({ raw: JSON.stringify(v), type: 'application/json' })),
    junkString.map((s) => ({ raw: s, type: 'application/json' })),
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
    junkString.map((s) => s.replace(/[^\t\x20-\x7e]/g, '')),
    { maxKeys: 3 },
  )
  return fc.record({ params, query, body, headers })
}

function concretePath(path: string, params: string[]): string {
  let i = 0
  return path.replace(/\{[^}]+\}/g, () => encodeURIComponent(params[i++ % params.length] || 'x'))
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

describe(`hostile input on every documented route (seed ${SEED}, ${RUNS_PER_ROUTE} cases per route)`, () => {
  let t: TestApp
  let ops: Operation[]
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
    ops = operations(t.app.swagger() as never)
  })
  afterAll(async () => t?.close())

  it('documents the routes it fuzzes', () => {
    expect(ops.length).toBeGreaterThan(10)
  })

  it('never answers 5xx, keeps the process up, and rejected batches leave the database unchanged', async () => {
    const serverErrors: string[] = []
    const changedWhileRejecting: string[] = []
    for (const op of ops) {
      const before = await fingerprint(t)
      let accepted = 0
      await fc
        .assert(
          fc.asyncProperty(requestArbitrary(op), async (input) => {
            const url = concretePath(op.path, input.params)
            const res = await t.app.inject({
              method: op.method.toUpperCase() as 'GET',
              url,
              query: input.query,
              headers: {
                ...input.headers,
                ...t.auth(),
                ...(op.method === 'get' || op.method === 'delete' ? {} : { 'content-type': input.body.type }),
              },
              ...(op.method === 'get' ? {} : { payload: input.body.raw }),
            })
            if (res.statusCode < 400) accepted++
            if (res.statusCode >= 500) {
              serverErrors.push(`${op.method.toUpperCase()} ${url} → ${res.statusCode} ${res.body.slice(0, 200)}`)
              return false
            }
            return true
          }),
          { seed: SEED, numRuns: RUNS_PER_ROUTE, endOnFailure: true },
        )
        .catch(() => {})
      if (accepted === 0) {
        const after = await fingerprint(t)
        const changed = Object.keys({ ...before, ...after }).filter((table) => before[table] !== after[table])
        if (changed.length)
          changedWhileRejecting.push(`${op.method.toUpperCase()} ${op.path} changed ${changed.join(', ')}`)
      }
    }
    expect(serverErrors).toEqual([])
    expect(changedWhileRejecting).toEqual([])
    expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)
  }, 900_000)
})
