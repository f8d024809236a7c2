import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorResponse } from '../../contract/common.js'
import { UPSTREAM_ACTIONS, UpstreamsView, UpstreamView } from '../../contract/upstreams.js'
import { notFound } from '../../errors.js'
import type { AdminState } from '../pool/member.js'

const tags = ['upstreams']
const STATE_OF: Record<(typeof UPSTREAM_ACTIONS)[number], AdminState> = {
  drain: 'draining',
  disable: 'disabled',
  enable: 'active',
}
const SUMMARY = {
  drain: 'Drain an upstream: requests in flight finish, no new ones go to it (every instance, across restarts)',
  disable: 'Disable an upstream: no requests go to it and it is not probed (every instance, across restarts)',
  enable: 'Put a drained or disabled upstream back into rotation',
}

/** GET /api/upstreams and the admin actions on one upstream. */
export const upstreamRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const Params = Type.Object({ name: Type.String({ pattern: '^[a-z0-9-]+$', maxLength: 63 }) })

  app.get(
    '/api/upstreams',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary:
          "The pool's upstreams: admin state, circuit, in flight, requests, errors, p95 latency and TTFT, last probe",
        description: 'Counters and latencies are this instance’s; states are every instance’s.',
        response: { 200: UpstreamsView },
      },
    },
    async () => ({ upstreams: app.upstreams.pool.views() }),
  )

  for (const action of UPSTREAM_ACTIONS) {
    app.post(
      `/api/upstreams/:name/${action}`,
      {
        config: { access: 'admin' },
        schema: {
          tags,
          summary: SUMMARY[action],
          params: Params,
          response: { 200: Type.Object({ upstream: UpstreamView }), 404: ErrorResponse },
        },
      },
      async (request) => {
        const { name } = request.params
        if (!app.upstreams.pool.upstreamNames().includes(name)) throw notFound(`Upstream ${name}`)
        await app.upstreams.states.set(name, STATE_OF[action])
        await app.audit.record(request, { action: `upstream.${action}`, target: name })
        return { upstream: app.upstreams.pool.views().find((u) => u.name === name)! }
      },
    )
  }
}
