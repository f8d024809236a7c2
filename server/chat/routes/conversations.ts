import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { notFound } from '../../errors.js'
import { ErrorResponse, IdParams } from '../../contract/common.js'
import { ConversationView, Metadata, ModelName, SessionView } from '../../contract/chat.js'
import { ownerScope, visibleScope } from '../scope.js'

const Title = Type.Union([Type.String({ maxLength: 500 }), Type.Null()])
const Model = Type.Union([ModelName, Type.Null()], {
  description: 'Model for this conversation (default: the provider’s)',
})
const SessionFields = Type.Object(
  { user_ref: Type.Optional(Type.String({ maxLength: 200 })), metadata: Type.Optional(Metadata) },
  { additionalProperties: false },
)
/** The fields, or null: one schema rather than a union, so that a bad field is the only error reported. */
const SessionBody = Type.Unsafe<Static<typeof SessionFields> | null>({ ...SessionFields, type: ['object', 'null'] })
const chat = { access: 'chat' as const }
const tags = ['chat']

/** Sessions and conversations: create, list (keyset), read, rename, delete. */
export const conversationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { repos } = app.chat

  app.post(
    '/api/sessions',
    {
      config: { ...chat, idempotent: true },
      schema: {
        tags,
        summary: 'Start a session (a user’s visit; it groups conversations)',
        body: SessionBody,
        response: { 201: Type.Object({ session: SessionView }) },
      },
    },
    async (request, reply) =>
      reply.code(201).send({ session: await repos.sessions.create(request.body ?? {}, ownerScope(request)) }),
  )

  app.post(
    '/api/conversations',
    {
      config: { ...chat, idempotent: true },
      schema: {
        tags,
        summary: 'Start a conversation in a session',
        body: Type.Object(
          {
            session_id: Type.String({ format: 'uuid' }),
            title: Type.Optional(Title),
            model: Type.Optional(Model),
            metadata: Type.Optional(Metadata),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ conversation: ConversationView }), 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const session = await repos.sessions.findById(request.body.session_id, visibleScope(request))
      if (!session) throw notFound(`Session ${request.body.session_id}`)
      // The conversation is in its session's scope (an admin adding one to a tenant's session adds it there).
      return reply
        .code(201)
        .send({ conversation: await repos.conversations.create({ ...request.body, scope: session.scope }) })
    },
  )

  app.get(
    '/api/conversations',
    {
      config: chat,
      schema: {
        tags,
        summary:
          'The caller’s conversations (of one session, or all), most recently active first (keyset pagination: pass next_cursor as cursor)',
        description:
          'A chat token sees its own scope’s (its project’s, else its own); an admin token sees every scope’s and may name one in `scope`.',
        querystring: Type.Object(
          {
            session_id: Type.Optional(Type.String({ format: 'uuid' })),
            scope: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 300,
                description: 'Admin tokens only: project:<name> or token:<id>',
              }),
            ),
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            conversations: Type.Array(ConversationView),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
          403: ErrorResponse,
          404: ErrorResponse,
        },
      },
    },
    async (request) => {
      const { session_id, scope, limit, cursor } = request.query
      const visible = visibleScope(request, scope)
      if (session_id !== undefined && !(await repos.sessions.findById(session_id, visible)))
        throw notFound(`Session ${session_id}`)
      return repos.conversations.list(visible, { sessionId: session_id, limit, cursor })
    },
  )

  app.get(
    '/api/conversations/:id',
    {
      config: chat,
      schema: {
        tags,
        summary: 'One conversation',
        params: IdParams,
        response: { 200: Type.Object({ conversation: ConversationView }), 404: ErrorResponse },
      },
    },
    async (request) => {
      const conversation = await repos.conversations.findById(request.params.id, visibleScope(request))
      if (!conversation) throw notFound(`Conversation ${request.params.id}`)
      return { conversation }
    },
  )

  app.patch(
    '/api/conversations/:id',
    {
      config: chat,
      schema: {
        tags,
        summary: 'Rename a conversation, change its model or metadata',
        params: IdParams,
        body: Type.Object(
          { title: Type.Optional(Title), model: Type.Optional(Model), metadata: Type.Optional(Metadata) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Object({ conversation: ConversationView }), 404: ErrorResponse },
      },
    },
    async (request) => {
      const conversation = await repos.conversations.update(
        request.params.id,
        request.body,
        new Date(),
        visibleScope(request),
      )
      if (!conversation) throw notFound(`Conversation ${request.params.id}`)
      return { conversation }
    },
  )

  app.delete(
    '/api/conversations/:id',
    {
      config: chat,
      schema: {
        tags,
        summary: 'Delete a conversation and its messages',
        params: IdParams,
        response: { 204: Type.Null(), 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      if (!(await repos.conversations.delete(request.params.id, visibleScope(request))))
        throw notFound(`Conversation ${request.params.id}`)
      return reply.code(204).send(null)
    },
  )
}
