import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { FreeJson, OpenAiErrorResponse } from '../../contract/common.js'
import { ModelName, StringEnum } from '../../contract/chat.js'
import { badRequest } from '../../errors.js'
import { forwardedFields } from '../openai-request.js'
import { clientGone } from '../sse.js'

const MAX_INPUTS = 2_048

const Body = Type.Object(
  {
    model: Type.Optional(ModelName),
    // Checked below: a string-or-list union cannot be left to Ajv under type coercion.
    input: Type.Unsafe<unknown>({ description: 'A string, a list of strings, a token list, or a list of token lists' }),
    encoding_format: Type.Optional(StringEnum(['float', 'base64'] as const)),
    dimensions: Type.Optional(Type.Integer({ minimum: 1, maximum: 8_192 })),
    user: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: FreeJson('Other fields of an OpenAI embeddings request, forwarded'), maxProperties: 50 },
)

const EmbeddingsView = Type.Object(
  {
    object: Type.Literal('list'),
    data: Type.Array(
      Type.Object({
        object: Type.Literal('embedding'),
        index: Type.Integer(),
        embedding: Type.Union([Type.Array(Type.Number()), Type.String()]),
      }),
    ),
    model: Type.String(),
    usage: Type.Object({ prompt_tokens: Type.Integer(), total_tokens: Type.Integer() }, { additionalProperties: true }),
  },
  { additionalProperties: true },
)

/** OpenAI's embeddings endpoint: through the provider, with the caller's rate limits and usage like a completion. */
export const embeddingsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const maxChars = app.config.chat.maxContentChars
  app.post(
    '/v1/embeddings',
    {
      config: { access: 'chat' },
      schema: {
        tags: ['openai'],
        summary: 'Create embeddings (OpenAI-compatible; the simulated provider derives them from the text)',
        body: Body,
        response: {
          200: EmbeddingsView,
          400: OpenAiErrorResponse,
          429: OpenAiErrorResponse,
          502: OpenAiErrorResponse,
          504: OpenAiErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const texts = inputTexts(request.body.input, maxChars)
      const admission = await app.chat.limits.admit(request.principal, {
        messages: texts.map((content) => ({ role: 'user' as const, content })),
      })
      reply.headers(admission.headers)
      let usedTokens: number | null = null
      try {
        const { model, input, ...rest } = request.body
        const response = await app.chat.embeddings({
          model,
          input,
          fields: forwardedFields(rest),
          principal: request.principal,
          signal: clientGone(reply),
        })
        usedTokens = response.usage?.total_tokens ?? null
        return response
      } finally {
        admission.settle(usedTokens)
      }
    },
  )
}

/** The texts of `input` (token lists as their JSON), or a 400 naming `input`. */
function inputTexts(input: unknown, maxChars: number): string[] {
  const invalid = (detail: string) => badRequest(`body/input ${detail}`, 'invalid_request_error', 'input')
  const list = Array.isArray(input) ? input : [input]
  if (list.length === 0 || list.length > MAX_INPUTS) throw invalid(`must have 1 to ${MAX_INPUTS} items`)
  const isTokens = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((t) => Number.isInteger(t) && t >= 0)
  if (Array.isArray(input) && input.every((t) => Number.isInteger(t) && (t as number) >= 0))
    return [JSON.stringify(input)]
  return list.map((item) => {
    if (typeof item === 'string') {
      if (item === '') throw invalid('must not contain empty strings')
      if (item.length > maxChars) throw invalid(`must NOT have items longer than ${maxChars} characters`)
      return item
    }
    if (isTokens(item)) return JSON.stringify(item)
    throw invalid('must be a string, a list of strings, a token list, or a list of token lists')
  })
}
