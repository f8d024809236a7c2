import { formatText, type Unit } from './format.js'

/**
 * The unit of a sampler signal, from its name: the signal catalog (server/metrics/
 * server/contract/signals.ts) names every signal after its unit.
 * A test keeps the two in step.
 */
export function unitOfSignal(signal: string): Unit {
  if (signal.endsWith('_ratio')) return 'ratio'
  if (signal.endsWith('_per_second')) return 'per_second'
  if (signal.endsWith('_seconds')) return 'seconds'
  if (signal.endsWith('_bytes')) return 'bytes'
  if (signal === 'health_up' || signal === 'job_failing') return 'boolean'
  return 'count'
}

/** A value of a signal with its unit ("92.1 %", "2.40 s", "down", "failing"). */
export function formatSignalValue(signal: string, value: number | null): string {
  // job_failing is a flag too, but 1 means trouble: "up" would read the wrong way round.
  if (signal === 'job_failing' && value !== null) return value >= 1 ? 'failing' : 'ok'
  return formatText(value, unitOfSignal(signal))
}

/** How a threshold of the signal is written in a rule, for the editor's hint. */
export function thresholdHint(signal: string): string {
  switch (unitOfSignal(signal)) {
    case 'ratio':
      return 'a ratio from 0 to 1 (0.9 is 90 %)'
    case 'seconds':
      return 'seconds (0.25 is 250 ms)'
    case 'per_second':
      return 'per second'
    case 'bytes':
      return 'bytes'
    case 'boolean':
      return signal === 'job_failing' ? '1 when failing, 0 when not' : '1 for up, 0 for down'
    default:
      return 'a count'
  }
}
