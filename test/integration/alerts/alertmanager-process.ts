import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../helpers/process.js'

/** Debian's prometheus-alertmanager, when installed (CI installs it); tests using it exist only then. */
export const ALERTMANAGER = '/usr/bin/prometheus-alertmanager'
export const hasAlertmanager = existsSync(ALERTMANAGER)

export interface RunningAlertmanager {
  url: string
  stop(): Promise<void>
}

/** A real Alertmanager, routing everything at once to one webhook. */
export async function startAlertmanager(webhookUrl: string): Promise<RunningAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'ccp-alertmanager-'))
  const config = join(dir, 'alertmanager.yml')
  writeFileSync(
    config,
    [
      'route:',
      '  receiver: hook',
      "  group_by: ['alertname']",
      '  group_wait: 100ms',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: hook',
      '    webhook_configs:',
      `      - url: ${webhookUrl}`,
      '        send_resolved: true',
      '',
    ].join('\n'),
  )
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = spawn(
    ALERTMANAGER,
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const exited = new Promise<void>((r) => child.on('exit', () => r()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) {
      await stop()
      throw new Error(`alertmanager exited with ${child.exitCode}:\n${output}`)
    }
    if (
      await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`alertmanager not ready within 30 s:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return { url, stop }
}
