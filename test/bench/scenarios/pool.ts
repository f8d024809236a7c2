import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { alternate, compare, describeHttp, failureNote, httpSide } from '../lib/ab.js'
import type { HttpLoad } from '../lib/load-types.js'
import type { Loader } from '../lib/loader.js'
import { startPeer } from '../lib/peers.js'
import { freePort, type Proc } from '../lib/procs.js'
import { row } from '../lib/report.js'
import type { Scenario } from '../lib/scenario.js'
import { startService, type Service } from '../lib/service.js'

const MODEL = 'bench-model'
const CONNECTIONS = 32

/** A pool file over these upstream URLs (one public model, weighted round-robin). */
function poolFile(name: string, urls: string[]): string {
  const file = join(mkdtempSync(join(tmpdir(), `bench-${name}-`)), 'upstreams.yaml')
  const names = urls.map((_, i) => `up-${i}`)
  writeFileSync(
    file,
    [
      'upstreams:',
      ...urls.map((url, i) => `  - { name: ${names[i]}, base_url: ${url} }`),
      'models:',
      `  - name: ${MODEL}`,
      '    deployments:',
      ...names.map((n) => `      - { upstream: ${n}, model: ${MODEL} }`),
    ].join('\n'),
  )
  return file
}

/** Cache misses (a fresh id per request) through the pool to the mock upstreams. */
const missLoad = (service: Service): Omit<HttpLoad, 'op' | 'durationSec'> => ({
  url: `${service.url}/v1/chat/completions`,
  method: 'POST',
  headers: { ...service.headers, 'content-type': 'application/json' },
  body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'pool request [<id>]' }] }),
  idReplacement: true,
  connections: CONNECTIONS,
})

/** Two services over pools of the given upstream URLs, measured in alternating rounds. */
async function twoPools(
  loader: Loader,
  ours: { name: string; urls: string[] },
  peer: { name: string; urls: string[] },
  peers: Proc[],
) {
  const start = (p: { name: string; urls: string[] }) =>
    startService({ name: p.name, env: { CHAT_PROVIDER: 'openai', UPSTREAMS_FILE: poolFile(p.name, p.urls) } })
  const [a, b] = await Promise.all([start(ours), start(peer)])
  try {
    return await alternate(
      httpSide(loader, 'ours', [a.proc, ...peers], () => missLoad(a)),
      httpSide(loader, 'peer', [b.proc, ...peers], () => missLoad(b)),
      { describe: describeHttp },
    )
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
}

async function mockUpstreams(count: number): Promise<Proc[]> {
  return Promise.all(Array.from({ length: count }, () => startPeer('mock-openai', {}, '/v1/models')))
}

/** What spreading over three upstreams costs the gateway: throughput through a pool of three vs one. */
export const pool: Scenario = {
  id: 'pool',
  title: 'upstream pool throughput',
  ours: `cache misses through a pool of three mock upstreams, ${CONNECTIONS} connections`,
  peer: 'the same through a pool of one',
  estimateSeconds: 60,
  inSuite: true,
  async run({ loader }) {
    const upstreams = await mockUpstreams(3)
    try {
      const urls = upstreams.map((u) => `${u.url}/v1`)
      const rounds = await twoPools(loader, { name: 'pool-3', urls }, { name: 'pool-1', urls: [urls[0]!] }, upstreams)
      const t = compare(rounds, (r) => r.okPerSec)
      return {
        rows: [row('throughput', 'req/s', t.ours, t.peer, t.ratio, { op: '>=', value: 0.97 }, failureNote(rounds))],
        notes: [],
        rounds,
      }
    } finally {
      await Promise.all(upstreams.map((u) => u.stop()))
    }
  },
}

/** One of three upstreams dead (nothing listens on its port) vs all three healthy. */
export const failover: Scenario = {
  id: 'failover',
  title: 'failover',
  ours: `cache misses, pool of three with one dead upstream, ${CONNECTIONS} connections`,
  peer: 'the same pool with all three healthy',
  estimateSeconds: 60,
  inSuite: true,
  async run({ loader }) {
    const upstreams = await mockUpstreams(3)
    try {
      const urls = upstreams.map((u) => `${u.url}/v1`)
      const dead = `http://127.0.0.1:${await freePort()}/v1`
      const rounds = await twoPools(
        loader,
        { name: 'failover-dead', urls: [urls[0]!, urls[1]!, dead] },
        { name: 'failover-healthy', urls },
        upstreams,
      )
      const p99 = compare(rounds, (r) => r.latencyMs.p99)
      const failed = rounds.reduce((n, r) => n + r.ours.non2xx + r.ours.errors + r.ours.timeouts, 0)
      return {
        rows: [
          row('p99 latency', 'ms', p99.ours, p99.peer, p99.ratio, { op: '<=', value: 1.2 }, failureNote(rounds)),
          row('failed requests (one upstream dead)', 'count', failed, null, null, { op: '<=', value: 0, on: 'ours' }),
        ],
        notes: [],
        rounds,
      }
    } finally {
      await Promise.all(upstreams.map((u) => u.stop()))
    }
  },
}
