import pg from 'pg'
import { alternate, compare, log } from '../lib/ab.js'
import type { Loader } from '../lib/loader.js'
import { row } from '../lib/report.js'
import { skipped, type Scenario } from '../lib/scenario.js'
import { startService, type Service } from '../lib/service.js'
import { settings } from '../lib/settings.js'
import { median } from '../lib/stats.js'

const PAGE = 50
const SQL_RUNS = 15

function pageSide(loader: Loader, label: string, service: Service, path: string) {
  return {
    label,
    procs: [],
    async measure(round: number) {
      const result = await loader.sequential({
        url: `${service.url}${path}`,
        headers: service.headers,
        durationMs: settings.roundSeconds * 1000,
        warmup: round === 0 ? 200 : 20,
      })
      if (result.latencyUs.count === 0) throw new Error(`${label}: ${result.lastFailure}`)
      return result.latencyUs.p50 / 1000
    },
  }
}

async function timeQuery(client: pg.Client, text: string, values: unknown[]): Promise<number> {
  const started = process.hrtime.bigint()
  await client.query(text, values)
  return Number(process.hrtime.bigint() - started) / 1e6
}

/**
 * A 100,000-message conversation: the oldest page (keyset: `id < before`, on the
 * (conversation_id, id) index) against the newest, through the API; and in SQL, the same
 * page by keyset and by OFFSET, which has to walk every row before it.
 */
export const pagination: Scenario = {
  id: 'pagination',
  title: 'keyset pagination',
  ours: `GET /api/conversations/:id/messages page at depth ${settings.pageDepth.toLocaleString('en-US')}`,
  peer: 'the same API, page 1',
  estimateSeconds: 40,
  inSuite: true,
  async run({ loader }) {
    if (!settings.databaseUrl) return skipped('needs DATABASE_URL (seeding 100k rows goes through SQL)')
    const service = await startService({ name: 'pagination' })
    const client = new pg.Client({ connectionString: settings.databaseUrl })
    await client.connect()
    try {
      const { session } = await service.api<{ session: { id: string } }>('POST', '/api/sessions', {})
      const { conversation } = await service.api<{ conversation: { id: string } }>('POST', '/api/conversations', {
        session_id: session.id,
        title: 'pagination bench',
      })
      await client.query(`SET search_path TO "${service.schema}"`)
      const seeded = Date.now()
      await client.query(
        `INSERT INTO messages (conversation_id, role, content)
         SELECT $1, CASE WHEN g % 2 = 0 THEN 'assistant' ELSE 'user' END, 'benchmark message ' || g || ': ' || repeat('lorem ipsum ', 8)
         FROM generate_series(1, $2::int) AS g`,
        [conversation.id, settings.pageDepth],
      )
      await client.query('ANALYZE messages')
      const { rows } = await client.query<{ min: string; max: string }>(
        'SELECT min(id)::text AS min, max(id)::text AS max FROM messages WHERE conversation_id = $1',
        [conversation.id],
      )
      const oldest = BigInt(rows[0]!.min)
      log(`  seeded ${settings.pageDepth} messages in ${Date.now() - seeded} ms`)

      const base = `/api/conversations/${conversation.id}/messages?limit=${PAGE}`
      const deepBefore = String(oldest + BigInt(PAGE))
      const rounds = await alternate(
        pageSide(loader, 'deep', service, `${base}&before=${deepBefore}`),
        pageSide(loader, 'page 1', service, base),
        {
          describe: (ms) => `p50 ${ms.toFixed(3)} ms`,
        },
      )
      const http = compare(rounds, (ms) => ms)

      const first = `SELECT * FROM messages WHERE conversation_id = $1 ORDER BY id DESC LIMIT ${PAGE}`
      const keyset = `SELECT * FROM messages WHERE conversation_id = $1 AND id < $2 ORDER BY id DESC LIMIT ${PAGE}`
      const offset = `SELECT * FROM messages WHERE conversation_id = $1 ORDER BY id DESC LIMIT ${PAGE} OFFSET $2`
      const times = { first: [] as number[], keyset: [] as number[], offset: [] as number[] }
      for (let i = 0; i < SQL_RUNS; i++) {
        times.first.push(await timeQuery(client, first, [conversation.id]))
        times.keyset.push(await timeQuery(client, keyset, [conversation.id, deepBefore]))
        times.offset.push(await timeQuery(client, offset, [conversation.id, settings.pageDepth - PAGE]))
      }
      const sql = { first: median(times.first), keyset: median(times.keyset), offset: median(times.offset) }
      return {
        rows: [
          row(
            `API, keyset, depth ${settings.pageDepth.toLocaleString('en-US')} vs page 1`,
            'ms',
            http.ours,
            http.peer,
            http.ratio,
            { op: '<=', value: 1.5 },
          ),
          row('SQL, keyset, same pages', 'ms', sql.keyset, sql.first, sql.keyset / sql.first, null),
          row('SQL, OFFSET variant, same pages', 'ms', sql.offset, sql.first, sql.offset / sql.first, null),
        ],
        notes: ['API figures: p50 of sequential requests; SQL figures: median of 15 runs from a pg client.'],
        rounds: { http: rounds, sql: times },
      }
    } finally {
      await client.end()
      await service.stop()
    }
  },
}
