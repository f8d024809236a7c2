import { describe, expect, it } from 'vitest'
import { SIGNALS } from '../../server/contract/index.js'
import { formatSignalValue, unitOfSignal } from '../src/lib/signal-units.js'

describe('signal units', () => {
  it('agree with the server’s signal catalog for every signal', () => {
    for (const signal of SIGNALS) expect([signal.name, unitOfSignal(signal.name)]).toEqual([signal.name, signal.unit])
  })

  it('write values with their unit', () => {
    expect(formatSignalValue('system_memory_usage_ratio', 0.9123)).toBe('91.2 %')
    expect(formatSignalValue('http_latency_p95_seconds', 2.4)).toBe('2.40 s')
    expect(formatSignalValue('http_requests_per_second', 12)).toBe('12.0 /s')
    expect(formatSignalValue('process_rss_bytes', 3 * 1024 * 1024)).toBe('3.00 MiB')
    expect(formatSignalValue('health_up', 0)).toBe('down')
    expect(formatSignalValue('system_cpu_usage_ratio', null)).toBe('—')
  })

  it('reads job_failing the right way round', () => {
    expect(formatSignalValue('job_failing', 1)).toBe('failing')
    expect(formatSignalValue('job_failing', 0)).toBe('ok')
  })
})
