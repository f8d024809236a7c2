/**
 * Which scopes' rows a query sees: one scope (`project:<name>` or `token:<id>`, see
 * server/auth/access.ts scopeOf), or EVERY_SCOPE (admin tokens). Real scopes always carry a
 * prefix, so the marker can never name one.
 */
export type ScopeFilter = string
export const EVERY_SCOPE: ScopeFilter = '*'

/** True when `filter` restricts the rows (the query adds `where scope = filter`). */
export function restricts(filter: ScopeFilter): boolean {
  return filter !== EVERY_SCOPE
}
