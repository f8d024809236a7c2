import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { notFound } from '../../errors.js'
import { DateTime, ErrorResponse, IdParams } from '../../contract/common.js'
import { cacheControl, cacheHeaders, samplingParams } from '../request-options.js'
import {
  CacheControlBody,
  MessageView,
  ModelName,
  samplingProperties,
  StringEnum,
  UsageView,
  usageView,
} from '../../contract/chat.js'
import { clientGone, SseWriter, streamError } from '../sse.js'
import { ownerScope, visibleScope } from '../scope.js'

const chat = { access: 'chat' as const }
/** Routes that honour Idempotency-Key (server/chat/idempotency/). */
const idempotentChat = { ...chat, idempotent: true }
const tags = ['chat']
const MessageId = Type.String({ pattern: '^[0-9]{1,19}$' })
const MAX_BATCH = 1_000

/** A conversation's messages: page through them, send one (and get the reply), import many. */
export const messageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { repos } = app.chat
  const Content = Type.String({ minLength: 1, maxLength: app.config.chat.maxContentChars })

  /**
   * A retry (same Idempotency-Key) of a post that failed after storing its user message goes on
   * from that message instead of storing it twice; a first attempt notes the message it stores.
   */
  const retryOf = async (request: FastifyRequest, conversationId: string) => {
    const held = request.idempotency
    if (!held) return {}
    const earlier = held.resume?.user_message_id
    return {
      userMessage: earlier ? await repos.messages.find(conversationId, earlier) : undefined,
      onUserMessage: (message: { id: string }) => held.noteResume({ user_message_id: message.id }),
    }
  }

  /** The conversation if the caller's scope holds it (admins: any); else 404, as for a missing one. */
  const findConversation = async (request: FastifyRequest, id: string) => {
    const conversation = await repos.conversations.findById(id, visibleScope(request))
    if (!conversation) throw notFound(`Conversation ${id}`)
    return conversation
  }

  app.get(
    '/api/conversations/:id/messages',
    {
      config: chat,
      schema: {
        tags,
        summary: 'Messages, newest first (keyset on id: pass next_before as before for older ones)',
        params: IdParams,
        querystring: Type.Object(
          { before: Type.Optional(MessageId), limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            messages: Type.Array(MessageView),
            next_before: Type.Union([Type.String(), Type.Null()]),
          }),
          404: ErrorResponse,
        },
      },
    },
    async (request) => {
      await findConversation(request, request.params.id)
      const messages = await repos.messages.list(request.params.id, request.query)
      return { messages, next_before: messages.length === request.query.limit ? messages.at(-1)!.id : null }
    },
  )

  app.post(
    '/api/conversations/:id/messages',
    {
      config: idempotentChat,
      schema: {
        tags,
        summary:
          'Send a user message; the reply is completed with the recent history (stream: true answers with Server-Sent Events)',
        description:
          'Streaming events: `token` ({ text }) for each piece of the reply, then `complete` ({ message_id, user_message_id, usage, cached, model, finish_reason }) or `error` ({ code, message }). ' +
          'A failure before the first token is an ordinary JSON error with its status. Cache control: body `cache` or the Cache-Control header; the answer carries x-cache and x-cache-key.',
        params: IdParams,
        body: Type.Object(
          {
            content: Content,
            role: Type.Optional(StringEnum(['user'] as const)),
            stream: Type.Optional(Type.Boolean()),
            model: Type.Optional(ModelName),
            cache: Type.Optional(CacheControlBody),
            ...samplingProperties,
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ message: MessageView, reply: MessageView, usage: UsageView, cached: Type.Boolean() }),
          404: ErrorResponse,
          429: ErrorResponse,
          502: ErrorResponse,
          503: ErrorResponse,
          504: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const conversation = await findConversation(request, request.params.id)
      const scope = conversation.scope ?? ownerScope(request)
      const { body } = request
      const input = {
        content: body.content,
        model: body.model,
        params: samplingParams(body),
        cache: cacheControl(request.headers['cache-control'], body.cache),
        stream: body.stream === true,
        principal: request.principal,
      }
      // The history is read later: the prompt estimate is the new message's, settled to the real usage after.
      const admission = await app.chat.limits.admit(request.principal, {
        messages: [{ role: 'user', content: body.content }],
        maxTokens: input.params.max_tokens,
      })
      reply.headers(admission.headers)
      const retry = await retryOf(request, conversation.id)
      let usedTokens: number | null = null
      try {
        if (!body.stream) {
          const { message, reply: answer, result } = await app.chat.postMessage(conversation, input, scope, retry)
          usedTokens = result.usage.prompt_tokens + result.usage.completion_tokens
          return reply
            .code(201)
            .headers(cacheHeaders(result))
            .send({ message, reply: answer, usage: usageView(result.usage), cached: result.cached })
        }
        const sse = new SseWriter(app.chat.streams)
        try {
          const {
            message,
            reply: answer,
            result,
          } = await app.chat.postMessage(
            conversation,
            {
              ...input,
              signal: clientGone(reply),
              sink: {
                start: (info) => sse.open(reply, cacheHeaders(info)),
                chunk: (chunk) => {
                  const text = chunk.choices[0]?.delta.content
                  if (typeof text === 'string' && text) sse.send({ text }, 'token')
                },
              },
            },
            scope,
            retry,
          )
          usedTokens = result.usage.prompt_tokens + result.usage.completion_tokens
          // Recorded before the client hears of it: a retry after `complete` replays it.
          await request.idempotency?.settle(201, {
            message,
            reply: answer,
            usage: usageView(result.usage),
            cached: result.cached,
            model: result.model,
            finish_reason: result.finish_reason,
          })
          sse.send(
            {
              message_id: answer.id,
              user_message_id: message.id,
              usage: usageView(result.usage),
              cached: result.cached,
              model: result.model,
              finish_reason: result.finish_reason,
            },
            'complete',
          )
        } catch (err) {
          if (!sse.isOpen) throw err
          sse.send(streamError(err, request.log), 'error')
        } finally {
          sse.end()
        }
        return reply
      } finally {
        admission.settle(usedTokens)
      }
    },
  )

  app.post(
    '/api/conversations/:id/messages/batch',
    {
      config: idempotentChat,
      schema: {
        tags,
        summary: `Import up to ${MAX_BATCH} messages in one insert (no completion runs)`,
        params: IdParams,
        body: Type.Object(
          {
            messages: Type.Array(
              Type.Object(
                {
                  role: StringEnum(['system', 'user', 'assistant'] as const),
                  content: Content,
                  model: Type.Optional(ModelName),
                  created_at: Type.Optional(DateTime),
                },
                { additionalProperties: false },
              ),
              { minItems: 1, maxItems: MAX_BATCH },
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            inserted: Type.Integer(),
            first_id: Type.Union([Type.String(), Type.Null()]),
            last_id: Type.Union([Type.String(), Type.Null()]),
          }),
          404: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const conversation = await findConversation(request, request.params.id)
      const result = await repos.messages.insertMany(
        conversation.id,
        request.body.messages.map((m) => ({
          ...m,
          created_at: m.created_at === undefined ? undefined : String(m.created_at),
        })),
      )
      const now = new Date()
      await Promise.all([
        repos.conversations.touch(conversation.id, now),
        repos.sessions.touch(conversation.session_id, now),
      ])
      return reply.code(201).send(result)
    },
  )
}

/** A streamed post answered again from its recorded outcome: the reply as one token, then `complete`. */
export function replayMessageStream(app: FastifyInstance, reply: FastifyReply, body: unknown): void {
  const outcome = body as {
    message: { id: string }
    reply: { id: string; content: string }
    usage: unknown
    cached: boolean
    model: string
    finish_reason: string
  }
  const sse = new SseWriter(app.chat.streams)
  sse.open(reply, {})
  sse.send({ text: outcome.reply.content }, 'token')
  sse.send(
    {
      message_id: outcome.reply.id,
      user_message_id: outcome.message.id,
      usage: outcome.usage,
      cached: outcome.cached,
      model: outcome.model,
      finish_reason: outcome.finish_reason,
    },
    'complete',
  )
  sse.end()
}
