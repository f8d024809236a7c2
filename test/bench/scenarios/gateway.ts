import { freePort, startProc, type Proc } from '../lib/procs.js'
import { rotate } from '../lib/ab.js'
import type { SequentialResult } from '../lib/load-types.js'
import type { Loader } from '../lib/loader.js'
import { startPeer } from '../lib/peers.js'
import { databaseNotes, profileNotes } from '../lib/profile.js'
import { row } from '../lib/report.js'
import type { Scenario } from '../lib/scenario.js'
import { startService } from '../lib/service.js'
import { settings } from '../lib/settings.js'
import { median } from '../lib/stats.js'

const PORTKEY = 'node_modules/@portkey-ai/gateway/build/start-server.js'
const MODEL = 'bench-model'
const API_KEY = 'sk-bench-not-a-real-key'
/** A fresh prompt per request: every request is a cache miss that goes to the upstream. */
const BODY = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'gateway overhead request {{seq}}' }] })

interface Target {
  name: 'direct' | 'ours' | 'portkey'
  url: string
  headers: Record<string, string>
  procs: Proc[]
}

async function measure(loader: Loader, target: Target, first: boolean): Promise<SequentialResult> {
  const result = await loader.sequential({
    url: target.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: BODY,
    durationMs: settings.roundSeconds * 1000,
    warmup: first ? 300 : 20,
  })
  if (result.latencyUs.count === 0) throw new Error(`${target.name}: no successful request (${result.lastFailure})`)
  return result
}

/**
 * What a gateway adds to a cache-miss completion: sequential requests through it to a local
 * OpenAI-compatible upstream, minus the same requests sent to the upstream directly. Ours
 * streams from the upstream, caches the answer and records it; Portkey's open-source gateway
 * (npm) forwards with x-portkey-provider: openai and a custom host.
 */
export const gateway: Scenario = {
  id: 'gateway',
  title: 'gateway overhead',
  ours: 'POST /v1/chat/completions, cache miss, provider openai → mock upstream',
  peer: '@portkey-ai/gateway → the same mock upstream',
  estimateSeconds: 50,
  inSuite: true,
  async run({ loader }) {
    const upstream = await startPeer('mock-openai', {}, '/v1/models')
    const upstreamV1 = `${upstream.url}/v1`
    const service = await startService({
      name: 'gateway',
      env: { CHAT_PROVIDER: 'openai', OPENAI_BASE_URL: upstreamV1, OPENAI_API_KEY: API_KEY, OPENAI_MODEL: MODEL },
    })
    const portkeyPort = await freePort()
    const portkey = await startProc({
      name: 'portkey',
      command: ['node', PORTKEY, `--port=${portkeyPort}`, '--headless'],
      port: portkeyPort,
      readyPath: '/',
    })
    try {
      const targets: Target[] = [
        {
          name: 'direct',
          url: `${upstreamV1}/chat/completions`,
          headers: { authorization: `Bearer ${API_KEY}` },
          procs: [],
        },
        { name: 'ours', url: `${service.url}/v1/chat/completions`, headers: service.headers, procs: [service.proc] },
        {
          name: 'portkey',
          url: `${portkey.url}/v1/chat/completions`,
          headers: {
            authorization: `Bearer ${API_KEY}`,
            'x-portkey-provider': 'openai',
            'x-portkey-custom-host': upstreamV1,
          },
          procs: [portkey],
        },
      ]
      const sides = targets.map((t) => ({
        label: t.name,
        procs: t.procs,
        measure: async (round: number) => (await measure(loader, t, round === 0)).latencyUs.p50 / 1000,
      }))
      const measured = await rotate(sides, { describe: (ms) => `p50 ${ms.toFixed(3)} ms` })
      const rounds = measured.map(([direct, ours, portkey]) => ({ direct: direct!, ours: ours!, portkey: portkey! }))
      const ours = median(rounds.map((r) => r.ours - r.direct))
      const peer = median(rounds.map((r) => r.portkey - r.direct))
      const ratio = median(rounds.map((r) => (r.ours - r.direct) / (r.portkey - r.direct)))
      portkey.freeze()
      const notesAfter: string[] = []
      let served = 0
      const notes = await profileNotes(service.proc, 'gateway', () =>
        databaseNotes(
          service.url,
          () => served,
          async () =>
            (served = (await measure(loader, targets[1]!, false)).latencyUs.count + 20) /* + the warm-up requests */,
        ).then((n) => notesAfter.push(...n)),
      )
      notes.push(...notesAfter)
      portkey.thaw()
      return {
        rows: [
          row('added latency (p50 − direct p50)', 'ms', ours, peer, ratio, { op: '<=', value: 1.0 }),
          row(
            'latency p50',
            'ms',
            median(rounds.map((r) => r.ours)),
            median(rounds.map((r) => r.portkey)),
            null,
            null,
            `upstream direct ${median(rounds.map((r) => r.direct)).toFixed(2)} ms`,
          ),
        ],
        notes,
        rounds,
      }
    } finally {
      await Promise.all([service.stop(), portkey.stop(), upstream.stop()])
    }
  },
}
