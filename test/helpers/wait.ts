export interface WaitOptions {
  /** How often to check (default 25 ms). */
  everyMs?: number
  /** Count a check that throws as "not yet" (a process that is starting or busy may refuse a request). */
  retryErrors?: boolean
}

/**
 * Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs` naming
 * what it waited for (and the last error, with `retryErrors`).
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
  { everyMs = 25, retryErrors = false }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      if (!retryErrors) throw err
      lastError = err
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`,
      )
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** waitFor against real processes: every `everyMs` (default 50), a failing request counting as "not yet". */
export function poll<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  return waitFor(what, check, timeoutMs, { everyMs, retryErrors: true })
}
