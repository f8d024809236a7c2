/**
 * What JSON makes of a value on its way to the dashboard: Dates become ISO strings. Schemas
 * whose date fields accept `Date | string` on the server side (a row straight from the database)
 * are read by the dashboard as `Wire<Static<...>>`, i.e. strings.
 */
export type Wire<T> = T extends Date
  ? string
  : T extends Array<infer U>
    ? Array<Wire<U>>
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T
