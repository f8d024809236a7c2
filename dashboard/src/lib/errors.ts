/** The message of whatever a failed call threw, for a toast or a status line. */
export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err))
