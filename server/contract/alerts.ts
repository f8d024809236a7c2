import { Type, type Static } from '@sinclair/typebox'
import { LABEL_NAME_PATTERN } from '../../alerts/labels.js'
import { DURATION_PATTERN } from '../../alerts/duration.js'
import { RECEIVER_KINDS } from '../../alerts/kinds/types.js'
import { DateTime, NullableDateTime } from './common.js'
import type { Wire } from './wire.js'

/** Wire shapes of the alerting API. Times go out as ISO 8601 strings. */
export const StringMap = Type.Record(Type.String(), Type.String())
const Severity = Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')])

export const Matcher = Type.Object(
  {
    name: Type.String({ pattern: LABEL_NAME_PATTERN, maxLength: 100 }),
    op: Type.Union([Type.Literal('='), Type.Literal('!='), Type.Literal('=~'), Type.Literal('!~')], {
      description: '=~ and !~ take a regex, anchored at both ends',
    }),
    value: Type.String({ maxLength: 1000 }),
  },
  { additionalProperties: false },
)
export type MatcherInput = Static<typeof Matcher>

export const FingerprintParams = Type.Object({
  fingerprint: Type.String({ pattern: '^[0-9a-f]{16}$', description: '16 hex digits' }),
})
export const RuleNameParams = Type.Object({ name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,99}$' }) })
export const Duration = Type.String({
  pattern: DURATION_PATTERN,
  description: 'Prometheus-style duration: 0s, 30s, 5m',
})

export const AlertView = Type.Object({
  fingerprint: Type.String(),
  rule: Type.String(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('firing')]),
  severity: Severity,
  value: Type.Union([Type.Number(), Type.Null()]),
  since: DateTime,
  firingSince: NullableDateTime,
  labels: StringMap,
  annotations: StringMap,
  silenced: Type.Boolean(),
  silencedBy: Type.Array(Type.String(), { description: 'Ids of the active silences covering it' }),
  acknowledged: Type.Union([Type.Object({ by: Type.String(), at: DateTime, comment: Type.String() }), Type.Null()]),
  lastNotifiedAt: NullableDateTime,
})

export const AlertEventView = Type.Object({
  id: Type.String(),
  at: DateTime,
  fingerprint: Type.String(),
  rule: Type.String(),
  severity: Type.String(),
  from: Type.String(),
  to: Type.Union(['pending', 'firing', 'inactive', 'resolved', 'acknowledged'].map((s) => Type.Literal(s))),
  value: Type.Union([Type.Number(), Type.Null()]),
  labels: StringMap,
  annotations: StringMap,
  detail: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
})

export const SilenceView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  matchers: Type.Array(Matcher),
  startsAt: DateTime,
  endsAt: DateTime,
  status: Type.Union([Type.Literal('pending'), Type.Literal('active'), Type.Literal('expired')]),
  createdBy: Type.String({ description: 'The author: the token or user that created it' }),
  comment: Type.String(),
  timeLeft: Type.Integer({ description: 'Milliseconds until it ends (0 once expired)' }),
  createdAt: DateTime,
  updatedAt: DateTime,
})

export const SilenceBody = Type.Object(
  {
    matchers: Type.Array(Matcher, { minItems: 1, maxItems: 20 }),
    startsAt: Type.Optional(Type.String({ format: 'date-time', description: 'Default: now' })),
    endsAt: Type.String({ format: 'date-time' }),
    comment: Type.String({ minLength: 1, maxLength: 1000, description: 'Required: why (shown with the author)' }),
    force: Type.Optional(
      Type.Boolean({
        description: 'Required (true) when the matchers match every current alert and every rule’s alerts',
      }),
    ),
  },
  { additionalProperties: false },
)

const RECEIVER_URL_NOTE =
  'Write-only: reads show scheme and host only. Refused: link-local and cloud metadata hosts; loopback and private ones while ALERT_RECEIVER_ALLOW_PRIVATE=false'
const receiverUrl = (description: string) =>
  Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2000, description })

const ReceiverKind = Type.Union(
  RECEIVER_KINDS.map((k) => Type.Literal(k)),
  {
    description:
      'webhook (default), alertmanager (POST {url}/api/v2/alerts), email (SMTP), pagerduty (Events API v2), teams (Workflows webhook), discord (webhook), telegram (Bot API)',
  },
)
const WriteOnly = (description: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: `Write-only. ${description}` }))
const ReceiverName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$' })
const EmailSettings = Type.Object(
  {
    to: Type.Array(Type.String({ format: 'email', maxLength: 320 }), { minItems: 1, maxItems: 20 }),
    from: Type.String({ format: 'email', maxLength: 320 }),
    host: Type.String({
      minLength: 1,
      maxLength: 253,
      description: 'SMTP server; the receiver address policy applies',
    }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    starttls: Type.Optional(
      Type.Boolean({ description: 'Require STARTTLS (default true; port 465 is TLS from the start)' }),
    ),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
    password: WriteOnly('Omit on update to keep the stored one'),
  },
  { additionalProperties: false },
)
const PagerDutySettings = Type.Object(
  {
    routingKey: WriteOnly('The integration key of a PagerDuty service; required when created'),
    url: Type.Optional(receiverUrl('Default https://events.pagerduty.com/v2/enqueue')),
  },
  { additionalProperties: false },
)
const TelegramSettings = Type.Object(
  {
    botToken: WriteOnly('From @BotFather; required when created'),
    chatId: Type.String({ minLength: 1, maxLength: 100, pattern: '^(-?[0-9]+|@[A-Za-z0-9_]{5,32})$' }),
    apiUrl: Type.Optional(receiverUrl('Default https://api.telegram.org')),
  },
  { additionalProperties: false },
)

const receiverFields = {
  name: ReceiverName,
  kind: Type.Optional(ReceiverKind),
  email: Type.Optional(EmailSettings),
  pagerduty: Type.Optional(PagerDutySettings),
  telegram: Type.Optional(TelegramSettings),
  template: Type.Optional(
    Type.Union([Type.String({ minLength: 1, maxLength: 20_000 }), Type.Null()], {
      description:
        "webhook: the JSON body, with {{ .Status }}, {{ .Receiver }}, {{ .CommonLabels.name }}, {{ json .Alerts }}… placeholders over the Alertmanager payload; null = the format's body",
    }),
  ),
  fallback: Type.Optional(
    Type.Union([ReceiverName, Type.Null()], {
      description: 'Name of the receiver that gets the notifications this one fails for good',
    }),
  ),
  format: Type.Optional(
    Type.Union([Type.Literal('alertmanager'), Type.Literal('slack')], {
      description: 'Webhook body: Alertmanager webhook v4 (default) or Slack { text }',
    }),
  ),
  url: Type.Optional(receiverUrl(`${RECEIVER_URL_NOTE}. Required for webhook, alertmanager, teams and discord`)),
  secret: Type.Optional(
    Type.Union([Type.String({ minLength: 1, maxLength: 500 }), Type.Null()], {
      description:
        'Write-only. Signs deliveries (X-Signature-256 and Standard Webhooks); a whsec_ secret is base64 of a 24-64 byte key. On update: omit to keep, null to remove',
    }),
  ),
  severities: Type.Optional(
    Type.Array(Severity, { uniqueItems: true, description: 'Only these severities; empty or absent = all' }),
  ),
  matchers: Type.Optional(Type.Array(Matcher, { maxItems: 20, description: 'Only alerts matching all of these' })),
  sendResolved: Type.Optional(Type.Boolean({ description: 'Default true' })),
  groupBy: Type.Optional(
    Type.Array(Type.String({ pattern: LABEL_NAME_PATTERN }), { maxItems: 20, description: "Default ['alertname']" }),
  ),
  groupWait: Type.Optional(
    Type.Unsafe<string>({ ...Duration, description: 'Wait this long to batch a new group; default 0s' }),
  ),
  enabled: Type.Optional(Type.Boolean()),
}

/** A new receiver. */
export const ReceiverBody = Type.Object(receiverFields, { additionalProperties: false })
/** A receiver replaced: as ReceiverBody; `url` and the write-only settings may be omitted to keep the stored ones. */
export const ReceiverUpdateBody = Type.Object(receiverFields, { additionalProperties: false })
export type ReceiverBodyInput = Static<typeof ReceiverBody>
export type ReceiverUpdateInput = Static<typeof ReceiverUpdateBody>

export const ReceiverView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  kind: ReceiverKind,
  format: Type.Union([Type.Literal('alertmanager'), Type.Literal('slack')]),
  email: Type.Union([
    Type.Object({
      to: Type.Array(Type.String()),
      from: Type.String(),
      host: Type.String(),
      port: Type.Integer(),
      starttls: Type.Boolean(),
      username: Type.Union([Type.String(), Type.Null()]),
      hasPassword: Type.Boolean(),
    }),
    Type.Null(),
  ]),
  pagerduty: Type.Union([Type.Object({ url: Type.String(), hasRoutingKey: Type.Boolean() }), Type.Null()]),
  telegram: Type.Union([
    Type.Object({ chatId: Type.String(), apiUrl: Type.String(), hasBotToken: Type.Boolean() }),
    Type.Null(),
  ]),
  template: Type.Union([Type.String(), Type.Null()]),
  fallback: Type.Union([Type.String(), Type.Null()], { description: "The fallback receiver's name" }),
  url: Type.String({
    description:
      'Scheme and host only, the path masked (https://hooks.slack.com/…; / when there is none): the path, query and credentials of a webhook URL are its secret',
  }),
  hasSecret: Type.Boolean(),
  severities: Type.Array(Type.String()),
  matchers: Type.Array(Matcher),
  sendResolved: Type.Boolean(),
  groupBy: Type.Array(Type.String()),
  groupWait: Type.String(),
  enabled: Type.Boolean(),
  source: Type.Union([Type.Literal('env'), Type.Literal('api')]),
  createdAt: DateTime,
  updatedAt: DateTime,
})

export const NotificationStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('delivered'),
  Type.Literal('failed'),
  Type.Literal('suppressed'),
])

export const NotificationView = Type.Object({
  id: Type.String(),
  receiver: Type.String(),
  receiverId: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String(),
  groupKey: Type.String(),
  status: NotificationStatus,
  windowId: Type.Union([Type.String(), Type.Null()], {
    description: "The maintenance window that held a 'suppressed' notification back",
  }),
  attempts: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
  alerts: Type.Array(Type.Object({ fingerprint: Type.String(), alertname: Type.String(), status: Type.String() })),
  createdAt: DateTime,
  nextAttemptAt: NullableDateTime,
  deliveredAt: NullableDateTime,
  fallbackFor: Type.Union([Type.String(), Type.Null()], {
    description: "On a fallback receiver's notification: the id of the one that failed for good",
  }),
})

/** The answer of `POST /api/alerts/rules/preview`: a rule replayed over the in-memory series. */
export const BacktestView = Type.Object({
  from: Type.String(),
  to: Type.String(),
  evaluations: Type.Integer({ description: 'Sample times replayed' }),
  signalFound: Type.Boolean(),
  firing: Type.Array(
    Type.Object({
      fingerprint: Type.String(),
      labels: StringMap,
      firedAt: Type.String(),
      resolvedAt: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  transitions: Type.Array(
    Type.Object({
      at: Type.String(),
      fingerprint: Type.String(),
      from: Type.String(),
      to: Type.String(),
      value: Type.Union([Type.Number(), Type.Null()]),
    }),
  ),
})

/** What the dashboard reads: the views above, with their times as strings. */
export type AlertDto = Wire<Static<typeof AlertView>>
export type AlertHistoryEventDto = Wire<Static<typeof AlertEventView>>
export type SilenceDto = Wire<Static<typeof SilenceView>>
export type ReceiverDto = Wire<Static<typeof ReceiverView>>
export type NotificationDto = Wire<Static<typeof NotificationView>>
export type BacktestDto = Static<typeof BacktestView>
export type { AlertRule, AlertRuleInput, Severity } from '../../alerts/rule.js'

const windowFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  matchers: Type.Array(Matcher, { minItems: 1, maxItems: 20, description: 'As in silences: the alerts it mutes' }),
  comment: Type.String({ minLength: 1, maxLength: 1000, description: 'The reason' }),
  startsAt: Type.Optional(Type.String({ format: 'date-time', description: 'One-off window: its start' })),
  endsAt: Type.Optional(Type.String({ format: 'date-time', description: 'One-off window: its end' })),
  cron: Type.Optional(
    Type.String({ maxLength: 200, description: 'Recurring window: five-field cron of each start, in `timezone`' }),
  ),
  duration: Type.Optional(Type.Unsafe<string>({ ...Duration, description: 'Recurring window: how long each lasts' })),
  timezone: Type.Optional(
    Type.String({ minLength: 1, maxLength: 100, description: 'IANA timezone of `cron` (default UTC)' }),
  ),
}

/** A maintenance window: one-off with startsAt/endsAt, or recurring with cron + duration (+ timezone). */
export const MaintenanceWindowBody = Type.Object(windowFields, { additionalProperties: false })
/** A PATCH: the fields given replace the stored ones; null clears a time or recurrence field. */
export const MaintenanceWindowPatch = Type.Object(
  {
    name: Type.Optional(windowFields.name),
    matchers: Type.Optional(windowFields.matchers),
    comment: Type.Optional(windowFields.comment),
    startsAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    endsAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    cron: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    duration: Type.Optional(Type.Union([Type.Unsafe<string>(Duration), Type.Null()])),
    timezone: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()])),
  },
  { additionalProperties: false },
)
export type MaintenanceWindowInput = Static<typeof MaintenanceWindowBody>
export type MaintenanceWindowPatchInput = Static<typeof MaintenanceWindowPatch>

export const MaintenanceWindowView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  matchers: Type.Array(Matcher),
  comment: Type.String(),
  startsAt: NullableDateTime,
  endsAt: NullableDateTime,
  cron: Type.Union([Type.String(), Type.Null()]),
  duration: Type.Union([Type.String(), Type.Null()]),
  timezone: Type.Union([Type.String(), Type.Null()]),
  activeNow: Type.Boolean(),
  activeUntil: Type.Union([Type.String(), Type.Null()], { description: 'End of the occurrence under way' }),
  nextStart: Type.Union([Type.String(), Type.Null()], { description: 'Next start after now; null when none' }),
  createdBy: Type.String(),
  createdAt: DateTime,
  updatedAt: DateTime,
})
export type MaintenanceWindowDto = Wire<Static<typeof MaintenanceWindowView>>
