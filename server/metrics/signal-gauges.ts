import type { Metrics } from './definitions.js'
import type { SignalSample } from './snapshot.js'

/**
 * Keeps the gauges that mirror a signal (system_*, cache_hit_ratio) in step with the latest
 * snapshot, so Prometheus sees the numbers the dashboard and the alerts see. A labelled
 * signal that turned null (a cache without traffic) loses its gauge sample rather than
 * showing a stale value; an unlabelled one keeps its last value (prom-client cannot unset it).
 */
export function updateSignalGauges(metrics: Metrics, signals: SignalSample[]): void {
  const disks = signals.filter((s) => s.name === 'system_disk_usage_ratio' && s.value !== null)
  metrics.systemDiskUsage.reset()
  for (const disk of disks) metrics.systemDiskUsage.set({ mount: disk.labels.mount ?? '' }, disk.value!)

  metrics.cacheHitRatio.reset()
  for (const s of signals) {
    if (s.name === 'cache_hit_ratio' && s.value !== null)
      metrics.cacheHitRatio.set({ cache_type: s.labels.cache_type ?? '' }, s.value)
  }

  const value = (name: string) => signals.find((s) => s.name === name)?.value ?? null
  const cpu = value('system_cpu_usage_ratio')
  if (cpu !== null) metrics.systemCpuUsage.set(cpu)
  const memory = value('system_memory_usage_ratio')
  if (memory !== null) metrics.systemMemoryUsage.set(memory)
}
