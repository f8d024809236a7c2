import type { Migration } from 'kysely'
import * as foundation from './2026_11_20_0001_foundation.js'

/**
 * Every migration, in order. Names are timestamps so they sort; a migration is frozen once
 * it has landed. Later features append theirs here.
 */
export const migrations: Record<string, Migration> = {
  '2026_11_20_0001_foundation': foundation,
}
