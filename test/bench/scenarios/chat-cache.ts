import { alternate, compare, describeHttp, failureNote, httpSide } from '../lib/ab.js'
import { chatLoad, seedPeerAnswers, startChatService, warmChat } from '../lib/chat.js'
import { startPeer } from '../lib/peers.js'
import { databaseNotes, profileNotes } from '../lib/profile.js'
import { row } from '../lib/report.js'
import { skipped, type Scenario } from '../lib/scenario.js'
import { settings } from '../lib/settings.js'

/**
 * The hot path: `POST /v1/chat/completions` answered from Redis (auth, validation, cache key,
 * GET + PTTL, metrics, analytics event, request log) against the least a server can do for
 * the same answer: parse the body, one GET, send the bytes.
 */
export const chatCache: Scenario = {
  id: 'chat-cache',
  title: 'chat cache hit',
  ours: 'POST /v1/chat/completions answered from Redis (L1 held to 1 KiB), 100 connections',
  peer: 'bare fastify POST route: same body, one ioredis GET, same bytes',
  estimateSeconds: 40,
  inSuite: true,
  async run({ loader }) {
    if (!settings.redisUrl) return skipped('needs REDIS_URL')
    const service = await startChatService('chat-cache')
    try {
      const answers = await warmChat(service)
      await seedPeerAnswers(settings.redisUrl, service.prefix, answers)
      const peer = await startPeer('redis-get', { REDIS_URL: settings.redisUrl, PEER_PREFIX: `${service.prefix}peer:` })
      const ours = chatLoad(service)
      const rounds = await alternate(
        httpSide(loader, 'ours', [service.proc], () => ours),
        httpSide(loader, 'peer', [peer], () => ({ ...ours, url: `${peer.url}/v1/chat/completions` })),
        { describe: describeHttp },
      )
      const t = compare(rounds, (r) => r.okPerSec)
      const p99 = compare(rounds, (r) => r.latencyMs.p99)
      peer.freeze()
      const notesAfter: string[] = []
      let served = 0
      const notes = await profileNotes(service.proc, 'chat-cache', () =>
        databaseNotes(
          service.url,
          () => served,
          async () => (served = (await loader.http({ ...ours, durationSec: 5 })).ok),
        ).then((n) => notesAfter.push(...n)),
      )
      notes.push(...notesAfter)
      peer.thaw()
      return {
        rows: [
          row('throughput', 'req/s', t.ours, t.peer, t.ratio, { op: '>=', value: 0.85 }, failureNote(rounds)),
          row('p99 latency', 'ms', p99.ours, p99.peer, p99.ratio, { op: '<=', value: 1.25 }),
        ],
        notes,
        rounds,
      }
    } finally {
      await service.stop()
    }
  },
}
