import { Type, type Static } from '@sinclair/typebox'
import { DateTime, NullableDateTime } from './common.js'
import type { Wire } from './wire.js'

const Report = Type.Record(Type.String(), Type.Unknown())
const Status = Type.Union([
  Type.Literal('running'),
  Type.Literal('success'),
  Type.Literal('failed'),
  Type.Literal('timeout'),
  Type.Literal('skipped'),
])

export const JobNameParams = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$', description: 'Job name, e.g. vacuum-analyze' }),
})

export const RunView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  job: Type.String(),
  trigger: Type.Union([Type.Literal('schedule'), Type.Literal('manual'), Type.Literal('catch-up')]),
  instance: Type.String(),
  params: Report,
  status: Status,
  attempt: Type.Integer(),
  started_at: DateTime,
  finished_at: NullableDateTime,
  duration_ms: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  output: Type.Union([Report, Type.Null()], { description: 'The job report (counts, per-item results)' }),
})

export const JobView = Type.Object({
  name: Type.String(),
  description: Type.String(),
  schedule: Type.String({ description: 'Cron expression in effect (a sixth leading field is seconds)' }),
  scheduleSource: Type.Union([Type.Literal('default'), Type.Literal('env'), Type.Literal('api')]),
  scheduleDescription: Type.String(),
  defaultSchedule: Type.String(),
  scope: Type.Union([Type.Literal('cluster'), Type.Literal('instance')], {
    description: 'cluster: once per occurrence across instances; instance: on each',
  }),
  catchUp: Type.Union([Type.Literal('none'), Type.Literal('once')]),
  timeoutMs: Type.Integer(),
  attempts: Type.Integer(),
  backoffMs: Type.Integer(),
  paused: Type.Boolean(),
  running: Type.Boolean(),
  failing: Type.Boolean(),
  nextRunAt: NullableDateTime,
  lastRun: Type.Union([RunView, Type.Null()]),
  lastSuccessAt: NullableDateTime,
})

export const StartedRunView = Type.Object({
  runId: Type.String({ format: 'uuid' }),
  job: Type.String(),
  status: Type.Union([Type.Literal('running'), Type.Literal('skipped')], {
    description: 'skipped: a run of this job is already going',
  }),
})

export const RunsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    before: Type.Optional(Type.String({ format: 'uuid', description: 'Id of the last run of the previous page' })),
    status: Type.Optional(Status),
  },
  { additionalProperties: false },
)

export const ScheduleBody = Type.Object(
  {
    schedule: Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()], {
      description: 'Cron expression (seconds field allowed), or null to go back to JOB_<NAME>_SCHEDULE or the default',
    }),
  },
  { additionalProperties: false },
)

const Trigger = Type.Union([Type.Literal('schedule'), Type.Literal('manual'), Type.Literal('catch-up')])

/** A job run started, progressed or finished: the live `job` event. */
export const JobEventView = Type.Object({
  type: Type.Union([Type.Literal('started'), Type.Literal('progress'), Type.Literal('finished')]),
  runId: Type.String(),
  job: Type.String(),
  trigger: Trigger,
  instance: Type.String(),
  status: Status,
  attempt: Type.Integer(),
  /** Epoch milliseconds. */
  at: Type.Number(),
  durationMs: Type.Optional(Type.Number()),
  error: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  report: Type.Optional(Type.Union([Report, Type.Null()])),
})

export type JobRunStatus = Static<typeof Status>
export type JobReport = Static<typeof Report>
export type JobRun = Wire<Static<typeof RunView>>
export type JobStatus = Wire<Static<typeof JobView>>
export type JobEvent = Static<typeof JobEventView>
export type StartedRun = Static<typeof StartedRunView>
