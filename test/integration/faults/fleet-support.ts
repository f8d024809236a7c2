import { createHmac } from 'node:crypto'
import { afterEach } from 'vitest'
import type { ReceivedRequest } from '../../helpers/alerts.js'
import { startService, type ServiceProcess } from '../../helpers/process.js'

/**
 * Shared by the fault tests that run the service as real processes (webhook-restart,
 * three-instances): process control, a small API client, and reading what the webhook receiver
 * (test/helpers/alerts.ts startReceiver) acknowledged.
 */

/** GitHub-style `sha256=<hex>` HMAC of the body, computed here independently of the service's code. */
export const expectedSignature = (body: string, secret: string) =>
  `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`

/** One alert as it travels in an Alertmanager webhook v4 body. */
export interface WebhookAlert {
  fingerprint: string
  status: 'firing' | 'resolved'
  startsAt: string
  labels: Record<string, string>
}

/** Every alert of the requests the receiver acknowledged with a 2xx, one entry per alert per request. */
export function acknowledgedAlerts(
  requests: readonly ReceivedRequest[],
): Array<WebhookAlert & { idempotencyKey: string }> {
  return requests
    .filter((r) => typeof r.status === 'number' && r.status >= 200 && r.status < 300)
    .flatMap((r) => (r.json.alerts as WebhookAlert[]).map((a) => ({ ...a, idempotencyKey: r.idempotencyKey })))
}

/** `fingerprint status startsAt`: what identifies one transition of one alert. */
export const transitionKey = (a: WebhookAlert) => `${a.fingerprint} ${a.status} ${a.startsAt}`

/** Counts of equal values, for readable assertions (`{ key: 2 }` names what was duplicated). */
export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1
  return counts
}

/** Items by key, in their original order (Map.groupBy arrives with Node 21). */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item])
  return groups
}

/** A bearer-authenticated JSON GET against a service process; throws with the body on a non-2xx. */
export async function apiGet<T = any>(service: ServiceProcess, token: string, path: string): Promise<T> {
  const res = await fetch(`${service.url}${path}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${text}`)
  return JSON.parse(text) as T
}

export interface ServiceProcesses {
  /** Starts the service and remembers it, so that stopAll finds every process, whatever failed. */
  start(env: Record<string, string>): Promise<ServiceProcess>
  /** Stops every process started (call it in afterAll, before the stores they use go away). */
  stopAll(): Promise<void>
}

/** The service processes of a describe block; a failing test prints the last lines of each. */
export function useServiceProcesses(): ServiceProcesses {
  const started: ServiceProcess[] = []
  afterEach(({ task }) => {
    if (task.result?.state === 'fail') console.error(processLogs(started))
  })
  return {
    async start(env) {
      const service = await startService(env, { timeoutMs: 90_000 })
      started.push(service)
      return service
    },
    stopAll: () => stopAll(started),
  }
}

/** Sends the signal and waits for the process to exit; returns its exit code (null when killed by a signal). */
export async function stopService(
  service: ServiceProcess,
  signal: 'SIGTERM' | 'SIGKILL',
  timeoutMs = 20_000,
): Promise<number | null> {
  if (service.child.exitCode !== null || service.child.signalCode !== null) return service.exited
  service.child.kill(signal)
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref())
  const result = await Promise.race([service.exited, timeout])
  if (result === 'timeout') {
    service.child.kill('SIGKILL')
    throw new Error(`the service did not exit within ${timeoutMs} ms of ${signal}:\n${tail(service)}`)
  }
  return result
}

/** SIGTERM, then SIGKILL after a grace period, for every process still running (afterAll). */
async function stopAll(services: readonly ServiceProcess[]): Promise<void> {
  await Promise.all(
    services.map((s) => stopService(s, 'SIGTERM', 10_000).catch(() => stopService(s, 'SIGKILL').catch(() => {}))),
  )
}

/** The last lines a process wrote, for failure messages. */
export function tail(service: ServiceProcess, lines = 30): string {
  return service.output().trim().split('\n').slice(-lines).join('\n')
}

/** The last lines of every process, for a failing test's output (they say what the service did). */
function processLogs(services: readonly ServiceProcess[], lines = 40): string {
  return services
    .map(
      (s, i) =>
        `--- process ${i + 1} (port ${s.port}, exit ${s.child.exitCode ?? s.child.signalCode ?? 'running'}) ---\n${tail(s, lines)}`,
    )
    .join('\n')
}
