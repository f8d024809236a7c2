import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { scopeOf } from '../auth/access.js'
import { ErrorResponse } from '../contract/common.js'
import { UsageQuery, UsageResponse, type UsageQueryDto, type UsageRowDto } from '../contract/usage.js'
import { badRequest } from '../errors.js'
import type { UsageFilter, UsageRepository } from './repository.js'
import type { UsageService } from './service.js'

const tags = ['usage']

/** GET /api/usage (viewers: every scope) and /api/usage/self (a chat token: its own scope). */
export function usageRoutes(usage: UsageService, repository: UsageRepository): FastifyPluginAsyncTypebox {
  return async (app) => {
    const answer = async (query: UsageQueryDto, filter: UsageFilter, reply: FastifyReply) => {
      const groupBy = query.group_by ?? 'day'
      const from = query.from === undefined ? undefined : new Date(query.from)
      const to = query.to === undefined ? undefined : new Date(query.to)
      if (from && to && from >= to) throw badRequest('from must be before to', 'validation_error')
      const splitBy = query.split_by
      if (splitBy && groupBy !== 'hour' && groupBy !== 'day')
        throw badRequest('split_by needs group_by=hour or group_by=day', 'validation_error')
      // What this instance buffered is written first (read-after-write); other instances write within their interval.
      await usage.flush()
      const window = { ...filter, from, to }
      const rows: UsageRowDto[] = splitBy
        ? await repository.split(groupBy as 'hour' | 'day', splitBy, window)
        : await repository.grouped(groupBy, window)
      if (query.format === 'csv')
        return reply
          .type('text/csv; charset=utf-8')
          .header(
            'content-disposition',
            `attachment; filename="usage-by-${groupBy}${splitBy ? `-and-${splitBy}` : ''}.csv"`,
          )
          .send(toCsv(groupBy, splitBy, rows))
      return splitBy ? { group_by: groupBy, split_by: splitBy, rows } : { group_by: groupBy, rows }
    }
    const schema = (summary: string) => ({
      tags,
      summary,
      querystring: UsageQuery,
      response: { 200: UsageResponse, 400: ErrorResponse },
    })

    app.get(
      '/api/usage',
      {
        config: { access: 'viewer' as const },
        schema: schema(
          'Chat usage (requests, cached, tokens, cost) grouped by token, project, model, hour or day; format=csv exports',
        ),
      },
      async (request, reply) =>
        answer(request.query, { tokenId: request.query.token_id, project: request.query.project }, reply),
    )

    app.get(
      '/api/usage/self',
      {
        config: { access: 'chat' as const },
        schema: schema("The calling token's own scope's chat usage (its project's, when it has one)"),
      },
      async (request, reply) =>
        answer(
          request.query,
          { scope: scopeOf(request.principal!), tokenId: request.query.token_id, project: request.query.project },
          reply,
        ),
    )
  }
}

function toCsv(groupBy: string, splitBy: string | undefined, rows: UsageRowDto[]): string {
  const cell = (v: string | number | null) => {
    if (v === null) return ''
    const s = String(v)
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
  }
  const keys = splitBy ? [groupBy, splitBy] : [groupBy]
  const lines = [[...keys, 'requests', 'cached', 'prompt_tokens', 'completion_tokens', 'cost'].join(',')]
  for (const r of rows) {
    const key = splitBy ? [r.key, r.split ?? null] : [r.key]
    lines.push([...key, r.requests, r.cached, r.prompt_tokens, r.completion_tokens, r.cost].map(cell).join(','))
  }
  return `${lines.join('\r\n')}\r\n`
}
