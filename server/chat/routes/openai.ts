import { randomUUID } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { FreeJson, FreeJsonObject, OpenAiErrorResponse } from '../../contract/common.js'
import type { Usage } from '../providers/types.js'
import { cacheControl, cacheHeaders, samplingParams } from '../request-options.js'
import { CacheControlBody, ModelName, samplingProperties, StringEnum } from '../../contract/chat.js'
import { checkToolChoice, forwardedFields, toChatMessages, wireMessages } from '../openai-request.js'
import { embeddingsRoutes } from './embeddings.js'
import { clientGone, SseWriter, streamError } from '../sse.js'
import { ownerScope } from '../scope.js'

const chat = { access: 'chat' as const }
const tags = ['openai']
const open = { additionalProperties: true }
const ChatCompletionView = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('chat.completion'),
    created: Type.Integer(),
    model: Type.String(),
    choices: Type.Array(
      Type.Object(
        {
          index: Type.Integer(),
          message: Type.Object(
            {
              role: Type.Literal('assistant'),
              content: Type.Union([Type.String(), Type.Null()]),
              refusal: Type.Union([Type.String(), Type.Null()]),
            },
            { ...open, description: 'Also tool_calls, and any other field the upstream sent' },
          ),
          logprobs: Type.Unknown(),
          finish_reason: Type.String(),
        },
        open,
      ),
    ),
    usage: Type.Object(
      { prompt_tokens: Type.Integer(), completion_tokens: Type.Integer(), total_tokens: Type.Integer() },
      { ...open, description: 'Also prompt_tokens_details and completion_tokens_details when the upstream sent them' },
    ),
    system_fingerprint: Type.Union([Type.String(), Type.Null()]),
  },
  open,
)
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
  const ToolCall = Type.Object(
    {
      id: Type.String({ maxLength: 200 }),
      type: Type.String({ maxLength: 50 }),
      function: Type.Optional(
        Type.Object(
          { name: Type.String({ maxLength: 200 }), arguments: Type.String() },
          { additionalProperties: FreeJson() },
        ),
      ),
    },
    { additionalProperties: FreeJson('Other fields of a tool call') },
  )
  const Message = Type.Object(
    {
      role: StringEnum(['system', 'developer', 'user', 'assistant', 'tool', 'function'] as const),
      // Checked by toChatMessages: with type coercion on, Ajv rewrites a value while trying an
      // anyOf branch that then fails, so a string-or-parts union cannot be left to the schema.
      content: Type.Optional(
        Type.Unsafe<unknown>({
          description: 'Text, a list of content parts (text, image_url, input_audio, file …), or null',
        }),
      ),
      name: Type.Optional(Type.String({ maxLength: 200 })),
      tool_calls: Type.Optional(Type.Array(ToolCall, { maxItems: 128 })),
      tool_call_id: Type.Optional(Type.String({ maxLength: 200 })),
    },
    { additionalProperties: FreeJson('Other fields of an OpenAI message, forwarded'), maxProperties: 32 },
  )
  const Tool = Type.Object(
    {
      type: Type.String({ maxLength: 50 }),
      function: Type.Optional(
        Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 64 }),
            description: Type.Optional(Type.String({ maxLength: 10_000 })),
            parameters: Type.Optional(FreeJson("The function's parameters, a JSON schema")),
            strict: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
          },
          { additionalProperties: FreeJson() },
        ),
      ),
    },
    { additionalProperties: FreeJson('Other fields of a tool, forwarded') },
  )
  const ResponseFormat = Type.Object(
    {
      type: StringEnum(['text', 'json_object', 'json_schema'] as const),
      json_schema: Type.Optional(
        Type.Object(
          {
            name: Type.String({ maxLength: 64 }),
            description: Type.Optional(Type.String({ maxLength: 10_000 })),
            schema: Type.Optional(FreeJson('A JSON schema the answer follows')),
            strict: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
          },
          { additionalProperties: FreeJson() },
        ),
      ),
    },
    { additionalProperties: FreeJson() },
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
      n: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
      user: Type.Optional(Type.String({ maxLength: 500 })),
      tools: Type.Optional(Type.Array(Tool, { maxItems: 128 })),
      tool_choice: Type.Optional(FreeJson('"none" | "auto" | "required" | { type: "function", function: { name } }')),
      parallel_tool_calls: Type.Optional(Type.Boolean()),
      response_format: Type.Optional(ResponseFormat),
      logprobs: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
      top_logprobs: Type.Optional(Type.Integer({ minimum: 0, maximum: 20 })),
      reasoning_effort: Type.Optional(Type.String({ maxLength: 20 })),
      metadata: Type.Optional(FreeJsonObject('Key-value pairs, forwarded')),
      store: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
      cache: Type.Optional(CacheControlBody),
      ...samplingProperties,
    },
    // OpenAI's other fields (logit_bias, prediction, audio, newer ones …): forwarded unchanged; a few
    // dozen exist, so a hundred is plenty and 80,000 are not walked one by one.
    { additionalProperties: FreeJson('Other fields of an OpenAI request, forwarded'), maxProperties: 100 },
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

  await app.register(embeddingsRoutes)

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
      checkToolChoice(body.tool_choice)

      const params = samplingParams(body)
      const id = `chatcmpl-${randomUUID().replaceAll('-', '')}`
      const created = Math.floor(Date.now() / 1000)
      const input = {
        scope: ownerScope(request),
        messages: toChatMessages(body.messages, maxChars),
        model: body.model,
        params,
        openai: { messages: wireMessages(body.messages), fields: forwardedFields(body) },
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
            choices: result.choices,
            usage: usageView(result.usage),
            system_fingerprint: result.system_fingerprint ?? null,
          })
        }

        const model = app.chat.provider.resolveModel(body.model)
        const includeUsage = body.stream_options?.include_usage === true
        const envelope = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: null }
        const tail = includeUsage ? { usage: null } : {}
        const sse = new SseWriter(app.chat.streams)
        try {
          const result = await app.chat.complete({
            ...input,
            signal: clientGone(reply),
            sink: {
              start: (info) => {
                sse.open(reply, cacheHeaders(info))
                for (let index = 0; index < (body.n ?? 1); index++) {
                  const delta = { role: 'assistant', content: '', refusal: null }
                  sse.send({ ...envelope, choices: [{ index, delta, logprobs: null, finish_reason: null }], ...tail })
                }
              },
              chunk: (chunk) => sse.send({ ...envelope, ...chunk, ...tail }),
            },
          })
          usedTokens = result.usage.prompt_tokens + result.usage.completion_tokens
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

/** OpenAI's usage: the counts, their total, and the details the upstream sent. */
function usageView(usage: Usage): Usage & { total_tokens: number } {
  const { prompt_tokens, completion_tokens, ...details } = usage
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens, ...details }
}
