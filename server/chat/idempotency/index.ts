import { hash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, badRequest, conflict } from '../../errors.js'
import { ownerScope } from '../scope.js'
import { IdempotencyRepository } from './repository.js'

export const IDEMPOTENCY_HEADER = 'idempotency-key'
/** A key is honoured this long after its first use. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route honours Idempotency-Key (server/chat/idempotency/). */
    idempotent?: boolean
  }
  interface FastifyRequest {
    idempotency?: IdempotentRequest
  }
}

/** A request that holds its key: what it must record before it answers. */
export class IdempotentRequest {
  settled = false
  constructor(
    private readonly repo: IdempotencyRepository,
    readonly scope: string,
    readonly key: string,
    /** From an earlier attempt that failed part-way (the user message a post had stored). */
    readonly resume: Record<string, string> | null,
  ) {}

  noteResume(resume: Record<string, string>): Promise<void> {
    return this.repo.noteResume(this.scope, this.key, resume)
  }

  /**
   * The outcome to give every retry: a 2xx or a 4xx. A 5xx, 429 or 408 (the client is told to
   * try again) leaves the key to the retry instead, which resumes where this one stopped.
   */
  async settle(status: number, body: unknown): Promise<void> {
    if (this.settled) return
    this.settled = true
    if (status >= 500 || status === 429 || status === 408) await this.repo.fail(this.scope, this.key)
    else await this.repo.finish(this.scope, this.key, status, body)
  }
}

export interface IdempotencyOptions {
  /** How long a running request holds its key before a retry may take it over (its instance died). */
  leaseMs: number
  /** Answers a retry of a streamed request from the stored outcome (the route knows the stream's shape). */
  replayStream?: (request: FastifyRequest, reply: FastifyReply, status: number, body: unknown) => void
}

/**
 * Idempotency-Key on the routes whose config says `idempotent`: the same key and body (per
 * caller's scope, 24 h) gets the first outcome again, 409 while that first request still
 * runs, 422 with another body. Claims are rows in Postgres, so a retry on another instance or
 * after a restart is answered the same.
 */
export function installIdempotency(app: FastifyInstance, options: IdempotencyOptions): void {
  const repo = new IdempotencyRepository(app.db, { ttlMs: IDEMPOTENCY_TTL_MS, leaseMs: options.leaseMs })

  const preHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers[IDEMPOTENCY_HEADER]
    if (header === undefined) return
    const key = Array.isArray(header) ? header[0]! : header
    if (!KEY_PATTERN.test(key))
      throw badRequest('Idempotency-Key must be 1 to 255 visible ASCII characters', 'invalid_idempotency_key')
    const scope = ownerScope(request)
    const requestHash = hash(
      'sha256',
      JSON.stringify([request.method, request.routeOptions.url, request.params, request.body ?? null]),
      'hex',
    )
    const claim = await repo.claim(scope, key, requestHash)
    switch (claim.kind) {
      case 'new':
      case 'resume':
        request.idempotency = new IdempotentRequest(repo, scope, key, claim.kind === 'resume' ? claim.resume : null)
        return
      case 'running':
        throw conflict(
          'A request with this Idempotency-Key is still running; retry when it has finished',
          'idempotency_in_progress',
        )
      case 'mismatch':
        throw new AppError(
          422,
          'idempotency_key_reused',
          'This Idempotency-Key was used with a different request body; use a new key for a new request',
        )
      case 'replay': {
        reply.header('idempotent-replayed', 'true')
        const body = request.body as { stream?: unknown } | undefined
        if (body?.stream === true && claim.status < 300 && options.replayStream) {
          options.replayStream(request, reply, claim.status, claim.body)
          // An async hook that answered returns the reply: the handler does not run.
          return reply
        }
        return reply.code(claim.status).send(claim.body)
      }
    }
  }

  // A JSON answer is recorded before it goes out: a retry that arrives after it is the same.
  // A stream's payload is the stream itself; its route records the outcome when it completes.
  const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const held = request.idempotency
    if (!held || held.settled || typeof payload !== 'string') return payload
    let body: unknown = payload
    try {
      body = JSON.parse(payload)
    } catch {
      // Not JSON: kept as the text it is.
    }
    await held.settle(reply.statusCode, body)
    return payload
  }

  // Ended without an outcome (the client left, the stream broke): a retry runs it again.
  const onResponse = async (request: FastifyRequest) => {
    const held = request.idempotency
    if (held && !held.settled) await held.settle(503, null).catch(() => {})
  }

  // Only the routes that ask for it carry the hooks: nothing runs on any other route.
  app.addHook('onRoute', (route) => {
    if (!route.config?.idempotent) return
    route.preHandler = [...[route.preHandler ?? []].flat(), preHandler]
    route.onSend = [...[route.onSend ?? []].flat(), onSend]
    route.onResponse = [...[route.onResponse ?? []].flat(), onResponse]
  })
}
