import { describe, expect, it } from 'vitest'
import { AMTOOL, PROMTOOL, runTool } from '../../helpers/prometheus.js'

/** The shipped Prometheus and Alertmanager files, checked by the tools that load them. */
describe('prometheus/ passes promtool', () => {
  it('prometheus.yml is a valid configuration and its rule files load', async () => {
    const { code, stdout, stderr } = await runTool(PROMTOOL, ['check', 'config', 'prometheus/prometheus.yml'])
    expect(stderr + stdout, stderr + stdout).toContain('SUCCESS')
    // check config also checks every rule file the config names; the glob must find ours.
    expect(stdout).toContain('control-plane.rules.yml')
    expect(code).toBe(0)
  })

  it.each([
    ['the rule file is valid', 'check', 'prometheus/rules/control-plane.rules.yml', /SUCCESS: \d+ rules found/],
    ['the rule unit tests pass', 'test', 'prometheus/rules/control-plane.test.yml', /SUCCESS/],
  ])('%s', async (_name, command, file, success) => {
    const { code, stdout, stderr } = await runTool(PROMTOOL, [command, 'rules', file])
    expect(code, stderr + stdout).toBe(0)
    expect(stdout).toMatch(success)
  })
})

describe('prometheus/alertmanager.yml passes amtool', () => {
  it('is a valid Alertmanager configuration with a webhook receiver', async () => {
    const { code, stdout, stderr } = await runTool(AMTOOL, ['check-config', 'prometheus/alertmanager.yml'])
    expect(code, stderr + stdout).toBe(0)
    expect(stdout).toContain('SUCCESS')
    expect(stdout).toMatch(/1 receivers/)
  })
})
