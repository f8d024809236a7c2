import { randomUUID } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { badRequest } from '../../errors.js'
import { FreeJson, OpenAiErrorResponse } from '../../contract/common.js'
import type { ChatMessage } from '../providers/types.js'
import { cacheControl, cacheHeaders, samplingParams } from '../request-options.js'
import {
  CacheControlBody,
  ModelName,
  samplingProperties,
  StringEnum,
  UsageView,
  usageView,
} from '../../contract/chat.js'
import { clientGone, SseWriter, streamError } from '../sse.js'
import { ownerScope } from '../scope.js'

const chat = { access: 'chat' as const }
const tags = ['openai']
/** Request fields of OpenAI's API that change what a reply is and that this service does not do. */
const UNSUPPORTED = ['tools', 'functions', 'tool_choice', 'function_call', 'audio', 'modalities', 'prediction'] as const

const ChatCompletionView = Type.Object({
  id: Type.String(),
  object: Type.Literal('chat.completion'),
  created: Type.Integer(),
  model: Type.String(),
  choices: Type.Array(
    Type.Object({
      index: Type.Integer(),
      message: Type.Object({ role: Type.Literal('assistant'), content: Type.String(), refusal: Type.Null() }),
      logprobs: Type.Null(),
      finish_reason: Type.String(),
    }),
  ),
  usage: UsageView,
  system_fingerprint: Type.Null(),
})
const ModelView = Type.Object({
  id: Type.String(),
  object: Type.Literal('model'),
  created: Type.Integer(),
  owned_by: Type.String(),
})

/**
 * OpenAI's Chat Completions API, so that existing clients work unchanged: the same request
 * fields, response and chunk shapes, `usage`, and the `[DONE]` terminator.
 */
export const openAiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const maxChars = app.config.chat.maxContentChars
  const Message = Type.Object(
    {
      role: StringEnum(['system', 'developer', 'user', 'assistant'] as const),
      // Checked by toChatMessages: with type coercion on, Ajv rewrites a value while trying an
      // anyOf branch that then fails, so a string-or-parts union cannot be left to the schema.
      content: Type.Unsafe<unknown>({ description: 'Text, a list of { type: "text", text } parts, or null' }),
      name: Type.Optional(Type.String({ maxLength: 200 })),
    },
    { additionalProperties: FreeJson('Other fields of an OpenAI message, ignored'), maxProperties: 32 },
  )
  const Body = Type.Object(
    {
      model: Type.Optional(ModelName),
      messages: Type.Array(Message, { minItems: 1, maxItems: 1_000 }),
      stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
      stream_options: Type.Optional(
        Type.Union([Type.Object({ include_usage: Type.Optional(Type.Boolean()) }), Type.Null()]),
      ),
      max_completion_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
      n: Type.Optional(
        Type.Union([Type.Integer({ minimum: 1, maximum: 1, description: 'Only 1 is supported' }), Type.Null()]),
      ),
      user: Type.Optional(Type.String({ maxLength: 500 })),
      cache: Type.Optional(CacheControlBody),
      ...samplingProperties,
    },
    // OpenAI's other fields (metadata, logit_bias, …): accepted, and most ignored, as OpenAI clients
    // send them; a few dozen exist, so a hundred is plenty and 80,000 are not walked one by one.
    { additionalProperties: FreeJson('Other fields of an OpenAI request'), maxProperties: 100 },
  )

  app.get(
    '/v1/models',
    {
      config: chat,
      schema: {
        tags,
        summary: 'Models the provider serves (OpenAI format)',
        response: {
          200: Type.Object({ object: Type.Literal('list'), data: Type.Array(ModelView) }),
          502: OpenAiErrorResponse,
        },
      },
    },
    async () => ({ object: 'list' as const, data: await app.chat.listModels() }),
  )

  app.post(
    '/v1/chat/completions',
    {
      config: chat,
      schema: {
        tags,
        summary:
          'Create a chat completion (OpenAI-compatible; stream: true answers with Server-Sent Events ending in data: [DONE])',
        description:
          'Also takes LiteLLM-style cache control: body `cache: { "no-cache", "no-store", "ttl", "namespace" }` and the Cache-Control header (no-cache, no-store). Answers carry x-cache: HIT|MISS and x-cache-key.',
        body: Body,
        response: {
          200: ChatCompletionView,
          400: OpenAiErrorResponse,
          429: OpenAiErrorResponse,
          502: OpenAiErrorResponse,
          503: OpenAiErrorResponse,
          504: OpenAiErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { body } = request
      const unsupported = UNSUPPORTED.filter((field) => (body as Record<string, unknown>)[field] != null)
      if (unsupported.length)
        throw badRequest(`Not supported by this service: ${unsupported.join(', ')}`, 'unsupported_parameter')
      const responseFormat = (body as { response_format?: { type?: string } }).response_format
      if (responseFormat && responseFormat.type !== 'text')
        throw badRequest('Not supported by this service: response_format other than text', 'unsupported_parameter')

      const params = samplingParams(body)
      const id = `chatcmpl-${randomUUID().replaceAll('-', '')}`
      const created = Math.floor(Date.now() / 1000)
      const input = {
        scope: ownerScope(request),
        messages: toChatMessages(body.messages, maxChars),
        model: body.model,
        params,
        cache: cacheControl(request.headers['cache-control'], body.cache),
        api: 'openai' as const,
        stream: body.stream === true,
        principal: request.principal,
      }

      const admission = await app.chat.limits.admit(request.principal, {
        messages: input.messages,
        maxTokens: params.max_tokens,
        maxTokensField: body.max_completion_tokens === undefined ? 'max_tokens' : 'max_completion_tokens',
      })
      reply.headers(admission.headers)
      let usedTokens: number | null = null
      try {
        if (!input.stream) {
          const result = await app.chat.complete(input)
          usedTokens = result.usage.prompt_tokens + result.usage.completion_tokens
          return reply.headers(cacheHeaders(result)).send({
            id,
            object: 'chat.completion' as const,
            created,
            model: result.model,
            choices: [
              {
                index: 0,
                message: { role: 'assistant' as const, content: result.content, refusal: null },
                logprobs: null,
                finish_reason: result.finish_reason,
              },
            ],
            usage: usageView(result.usage),
            system_fingerprint: null,
          })
        }

        const model = app.chat.provider.resolveModel(body.model)
        const includeUsage = body.stream_options?.include_usage === true
        const chunk = (delta: Record<string, unknown>, finishReason: string | null) => ({
          id,
          object: 'chat.completion.chunk',
          created,
          model,
          system_fingerprint: null,
          choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
          ...(includeUsage ? { usage: null } : {}),
        })
        const sse = new SseWriter(app.chat.streams)
        try {
          const result = await app.chat.complete({
            ...input,
            signal: clientGone(reply),
            sink: {
              start: (info) => {
                sse.open(reply, cacheHeaders(info))
                sse.send(chunk({ role: 'assistant', content: '', refusal: null }, null))
              },
              token: (text) => sse.send(chunk({ content: text }, null)),
            },
          })
          usedTokens = result.usage.prompt_tokens + result.usage.completion_tokens
          sse.send(chunk({}, result.finish_reason))
          if (includeUsage)
            sse.send({
              id,
              object: 'chat.completion.chunk',
              created,
              model,
              system_fingerprint: null,
              choices: [],
              usage: usageView(result.usage),
            })
          sse.send('[DONE]')
        } catch (err) {
          if (!sse.isOpen) throw err
          const { code, message, ...fields } = streamError(err, request.log)
          sse.send({ error: { message, type: code, code, param: null, ...fields } })
        } finally {
          sse.end()
        }
        return reply
      } finally {
        admission.settle(usedTokens)
      }
    },
  )
}

/** OpenAI messages to ours: `developer` is a system message, text parts are joined, null content is empty. */
export function toChatMessages(
  messages: Array<{ role: 'system' | 'developer' | 'user' | 'assistant'; content: unknown }>,
  maxChars: number,
): ChatMessage[] {
  return messages.map((m, i) => {
    const content = messageText(m.content)
    if (content === undefined)
      throw badRequest(
        `body/messages/${i}/content must be a string, a list of { type: "text", text } parts, or null`,
        'validation_error',
      )
    if (content.length > maxChars)
      throw badRequest(`body/messages/${i}/content must NOT have more than ${maxChars} characters`, 'validation_error')
    return { role: m.role === 'developer' ? 'system' : m.role, content }
  })
}

function messageText(content: unknown): string | undefined {
  if (typeof content === 'string') return content
  if (content === null) return ''
  if (!Array.isArray(content) || content.length > 100) return undefined
  const texts: string[] = []
  for (const part of content as Array<{ type?: unknown; text?: unknown }>) {
    if (part?.type !== 'text' || typeof part.text !== 'string') return undefined
    texts.push(part.text)
  }
  return texts.join('\n')
}
