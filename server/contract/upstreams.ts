import { Type, type Static } from '@sinclair/typebox'

export const UPSTREAM_ADMIN_STATES = ['active', 'draining', 'disabled'] as const
export const UPSTREAM_ACTIONS = ['drain', 'disable', 'enable'] as const
export type UpstreamAction = (typeof UPSTREAM_ACTIONS)[number]

const NullableMs = Type.Union([Type.Number({ minimum: 0 }), Type.Null()])

export const UpstreamView = Type.Object({
  name: Type.String(),
  provider: Type.String({ description: 'openai (any OpenAI-compatible server) or simulated' }),
  state: Type.Union(
    UPSTREAM_ADMIN_STATES.map((s) => Type.Literal(s)),
    { description: 'Admin state: active, draining (in-flight finish, no new requests) or disabled' },
  ),
  circuit: Type.Union([Type.Literal('closed'), Type.Literal('half_open'), Type.Literal('open')]),
  up: Type.Union([Type.Boolean(), Type.Null()], { description: 'Last /models probe answered; null before the first' }),
  weight: Type.Number(),
  inFlight: Type.Integer({ minimum: 0 }),
  requests: Type.Integer({ minimum: 0, description: 'Calls on this instance since start' }),
  errors: Type.Integer({ minimum: 0 }),
  latencyP95Ms: NullableMs,
  ttftP95Ms: NullableMs,
  recentLatenciesMs: Type.Array(Type.Number(), { description: 'The last 30 call durations, oldest first' }),
  lastProbe: Type.Union([
    Type.Object({ at: Type.String(), up: Type.Boolean(), error: Type.Optional(Type.String()) }),
    Type.Null(),
  ]),
})
export type UpstreamView = Static<typeof UpstreamView>

export const UpstreamsView = Type.Object({ upstreams: Type.Array(UpstreamView) })
export type UpstreamsView = Static<typeof UpstreamsView>
