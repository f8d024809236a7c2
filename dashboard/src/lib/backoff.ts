/**
 * Reconnect delays: doubling from `baseMs` up to `maxMs`, with ±20 % jitter so that a fleet
 * of dashboards does not reconnect in lockstep after a restart.
 */
export function reconnectDelay(
  attempt: number,
  random: () => number = Math.random,
  baseMs = 500,
  maxMs = 15_000,
): number {
  const exact = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt))
  return Math.round(exact * (0.8 + 0.4 * random()))
}
