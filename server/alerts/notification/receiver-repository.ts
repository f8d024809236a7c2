import type { Kysely, Selectable } from 'kysely'
import type { Receiver } from '../../../alerts/routing.js'
import type { AlertReceiversTable, Database } from '../../db/schema.js'

export type ReceiverRow = Selectable<AlertReceiversTable>

/** A receiver as the API and the environment give it: what routing needs, before it has an id. */
export type ReceiverInput = Omit<Receiver, 'id'>

/** A webhook receiver of these name, format and URL with everything else at its default (all alerts, no wait). */
export function webhookReceiver(fields: Pick<ReceiverInput, 'name' | 'format' | 'url'>): ReceiverInput {
  return {
    ...fields,
    kind: 'webhook',
    settings: {},
    severities: [],
    matchers: [],
    sendResolved: true,
    groupBy: ['alertname'],
    groupWaitMs: 0,
    enabled: true,
  }
}

/** What routing needs of a row (no secret: that stays with the delivery worker). */
export function toRoutingReceiver(row: ReceiverRow): Receiver {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    format: row.format,
    url: row.url,
    settings: row.settings,
    severities: row.severities,
    matchers: row.matchers,
    sendResolved: row.send_resolved,
    groupBy: row.group_by,
    groupWaitMs: row.group_wait_ms,
    enabled: row.enabled,
  }
}

/** Secret changes: undefined keeps the stored one, null removes it, a string replaces it. */
export type SecretChange = string | null | undefined

/** The kind's write-only credential (same rules as the secret) and the fallback receiver's id. */
export interface ReceiverExtras {
  credential?: SecretChange
  fallbackId?: string | null
}

function extras(extra: ReceiverExtras) {
  return {
    ...(extra.credential === undefined ? {} : { credential: extra.credential }),
    ...(extra.fallbackId === undefined ? {} : { fallback_id: extra.fallbackId }),
  }
}

/** The alert_receivers table. Secrets go in, and out only to the delivery worker. */
export class ReceiverStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<ReceiverRow[]> {
    return this.db.selectFrom('alert_receivers').selectAll().orderBy('name').execute()
  }

  async get(id: string): Promise<ReceiverRow | null> {
    return (await this.db.selectFrom('alert_receivers').selectAll().where('id', '=', id).executeTakeFirst()) ?? null
  }

  /** Null when the name is taken. */
  async create(
    input: ReceiverInput,
    secret: string | null,
    source: ReceiverRow['source'] = 'api',
    extra: ReceiverExtras = {},
  ): Promise<ReceiverRow | null> {
    const row = await this.db
      .insertInto('alert_receivers')
      .values({ ...columns(input), ...extras(extra), secret, source })
      .onConflict((oc) => oc.column('name').doNothing())
      .returningAll()
      .executeTakeFirst()
    return row ?? null
  }

  async update(
    id: string,
    input: ReceiverInput,
    secret: SecretChange,
    extra: ReceiverExtras = {},
  ): Promise<ReceiverRow | null> {
    const row = await this.db
      .updateTable('alert_receivers')
      .set({ ...columns(input), ...extras(extra), ...(secret === undefined ? {} : { secret }), updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
    return row ?? null
  }

  /** Deletes the receiver; what it had not received yet is marked failed, so that the history says why. */
  async remove(id: string): Promise<ReceiverRow | null> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('notification_outbox')
        .set({ status: 'failed', last_error: 'the receiver was deleted' })
        .where('receiver_id', '=', id)
        .where('status', '=', 'pending')
        .execute()
      return (await trx.deleteFrom('alert_receivers').where('id', '=', id).returningAll().executeTakeFirst()) ?? null
    })
  }

  /** The receiver of ALERT_WEBHOOK_URL: the environment is its source of truth at every start. */
  async upsertFromEnv(input: ReceiverInput, secret: string | null): Promise<void> {
    const values = { ...columns(input), secret, source: 'env' as const }
    await this.db
      .insertInto('alert_receivers')
      .values(values)
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({
          url: values.url,
          format: values.format,
          kind: values.kind,
          secret,
          source: 'env',
          updated_at: new Date(),
        }),
      )
      .execute()
  }
}

function columns(input: ReceiverInput) {
  return {
    name: input.name,
    kind: input.kind,
    format: input.format,
    url: input.url,
    settings: JSON.stringify(input.settings),
    severities: JSON.stringify(input.severities),
    matchers: JSON.stringify(input.matchers),
    send_resolved: input.sendResolved,
    group_by: JSON.stringify(input.groupBy),
    group_wait_ms: input.groupWaitMs,
    enabled: input.enabled,
  }
}
