import type { Kysely } from 'kysely'
import { validateRule, type AlertRule } from '../../../alerts/rule.js'
import type { Database } from '../../db/schema.js'

const SEEDED_KEY = 'alert_rules_seeded'

/** The alert_rules table: one row per rule, its validated definition as jsonb. */
export class RuleStore {
  constructor(
    private readonly db: Kysely<Database>,
    /** A stored definition that no longer validates (edited by hand) is skipped, and reported here. */
    private readonly onInvalid: (name: string, problem: string) => void,
  ) {}

  async list(): Promise<AlertRule[]> {
    const rows = await this.db.selectFrom('alert_rules').select(['name', 'definition']).orderBy('name').execute()
    return rows.flatMap((row) => this.parse(row.name, row.definition))
  }

  async get(name: string): Promise<AlertRule | null> {
    const row = await this.db
      .selectFrom('alert_rules')
      .select(['name', 'definition'])
      .where('name', '=', name)
      .executeTakeFirst()
    return row ? (this.parse(row.name, row.definition)[0] ?? null) : null
  }

  /** Null when a rule of that name exists. */
  async create(rule: AlertRule): Promise<AlertRule | null> {
    const row = await this.db
      .insertInto('alert_rules')
      .values({ name: rule.name, definition: JSON.stringify(rule) })
      .onConflict((oc) => oc.column('name').doNothing())
      .returning('name')
      .executeTakeFirst()
    return row ? rule : null
  }

  /** Null when there is no rule of that name. */
  async replace(rule: AlertRule): Promise<AlertRule | null> {
    const row = await this.db
      .updateTable('alert_rules')
      .set({ definition: JSON.stringify(rule), updated_at: new Date() })
      .where('name', '=', rule.name)
      .returning('name')
      .executeTakeFirst()
    return row ? rule : null
  }

  async remove(name: string): Promise<AlertRule | null> {
    const row = await this.db
      .deleteFrom('alert_rules')
      .where('name', '=', name)
      .returning(['name', 'definition'])
      .executeTakeFirst()
    return row ? (this.parse(row.name, row.definition)[0] ?? null) : null
  }

  /**
   * Writes the initial rules once per database: a marker row claims the seeding, so that
   * rules deleted later stay deleted and instances starting together seed only once.
   */
  async seedOnce(rules: readonly AlertRule[]): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const claimed = await trx
        .insertInto('app_settings')
        .values({ key: SEEDED_KEY, value: new Date().toISOString() })
        .onConflict((oc) => oc.column('key').doNothing())
        .returning('key')
        .executeTakeFirst()
      if (!claimed) return false
      if (rules.length) {
        await trx
          .insertInto('alert_rules')
          .values(rules.map((rule) => ({ name: rule.name, definition: JSON.stringify(rule) })))
          .onConflict((oc) => oc.column('name').doNothing())
          .execute()
      }
      return true
    })
  }

  private parse(name: string, definition: unknown): AlertRule[] {
    const result = validateRule(definition)
    if (result.ok) return [result.rule]
    this.onInvalid(name, result.errors.map((e) => `${e.path} ${e.message}`).join('; '))
    return []
  }
}
